#pragma once
// Tab completion of the terminal mode: what to offer for the word under the
// cursor, from the command table (names, usage words) and a list of SDFS
// names.
//
// Why: the prompt should finish `get-ve` into `get-versions` and `get
// datasets/t1` into the one SDFS name it can be. What an argument is comes
// from the command's usage line (SDFSNAME, LOCAL, DATA, MODEL, `a|b|c`,
// `--flag VALUE`), so a new command completes without code here. A pure
// function of its inputs; any thread.

#include <string>
#include <string_view>
#include <vector>

#include "cli/commands/command_table.hpp"

namespace idunno::cli {

struct Completion {
  // Sorted, each starting with the word.
  std::vector<std::string> candidates;
  // The word is a path on this machine: the caller completes file names.
  bool local_path = false;
};

// `before`: the line up to the word's start; `word`: the word so far.
Completion complete_word(const CommandTable& table, std::string_view before, std::string_view word,
                         const std::vector<std::string>& sdfs_names);

}  // namespace idunno::cli
