// Tab completion over the builtin command table and a list of SDFS names.

#include "cli/commands/completion.hpp"

#include <gtest/gtest.h>

namespace idunno::cli {
namespace {

using Names = std::vector<std::string>;

const Names kSdfs = {"datasets/t10k-images", "datasets/t10k-labels", "models/a", "notes.txt"};

Names offered(std::string_view before, std::string_view word) {
  return complete_word(CommandTable::builtin(), before, word, kSdfs).candidates;
}

TEST(Completion, CompletesCommandNames) {
  EXPECT_EQ(offered("", "get-v"), (Names{"get-versions"}));
  EXPECT_EQ(offered("", "get"), (Names{"get", "get-results", "get-stats", "get-versions"}));
  EXPECT_EQ(offered("  ", "log-"), (Names{"log-level"}));
  EXPECT_EQ(offered("", "list_"), (Names{"list_mem", "list_self"}));
  EXPECT_TRUE(offered("", "zz").empty());
  // Every command is offered for an empty word.
  EXPECT_EQ(offered("", "").size(), CommandTable::builtin().specs().size());
}

TEST(Completion, CompletesSdfsNamesWhereTheUsageSaysSdfsname) {
  EXPECT_EQ(offered("get ", "datasets/t10k-i"), (Names{"datasets/t10k-images"}));
  EXPECT_EQ(offered("ls ", "datasets/"), (Names{"datasets/t10k-images", "datasets/t10k-labels"}));
  EXPECT_EQ(offered("delete ", "no"), (Names{"notes.txt"}));
  EXPECT_EQ(offered("get-versions ", "n"), (Names{"notes.txt"}));
  // put LOCAL SDFSNAME: the second argument.
  EXPECT_EQ(offered("put /tmp/x ", "mod"), (Names{"models/a"}));
  // --json is not an argument.
  EXPECT_EQ(offered("ls --json ", "not"), (Names{"notes.txt"}));
  // A count is not a name.
  EXPECT_TRUE(offered("get-versions notes.txt ", "").empty());
}

TEST(Completion, LocalPathsAreLeftToFileNameCompletion) {
  const auto put_local = complete_word(CommandTable::builtin(), "put ", "/tm", kSdfs);
  EXPECT_TRUE(put_local.local_path);
  EXPECT_TRUE(put_local.candidates.empty());
  EXPECT_TRUE(complete_word(CommandTable::builtin(), "get notes.txt ", "out", kSdfs).local_path);
  EXPECT_FALSE(complete_word(CommandTable::builtin(), "get ", "no", kSdfs).local_path);
  // DATA is a path, or sdfs:NAME.
  EXPECT_TRUE(complete_word(CommandTable::builtin(), "sub a ", "./", kSdfs).local_path);
  EXPECT_EQ(offered("sub a ", "sdfs:datasets/t10k-l"), (Names{"sdfs:datasets/t10k-labels"}));
}

TEST(Completion, FlagsTheirValuesAndChoices) {
  EXPECT_EQ(offered("train j ", "--mo"), (Names{"--model"}));
  EXPECT_EQ(offered("train j --model ", "models/"), (Names{"models/a"}));
  EXPECT_EQ(offered("train j --model models/a --data ", "sdfs:datasets/t10k-i"), (Names{"sdfs:datasets/t10k-images"}));
  EXPECT_EQ(offered("ls ", "--j"), (Names{"--json"}));
  EXPECT_EQ(offered("get x y ", "--"), (Names{"--json", "--version"}));
  EXPECT_EQ(offered("phase ", "in"), (Names{"infer"}));
  EXPECT_EQ(offered("phase ", ""), (Names{"infer", "stop", "train"}));
  EXPECT_EQ(offered("log-level ", "w"), (Names{"warn"}));
  EXPECT_EQ(offered("log-level ", "de"), (Names{"debug"}));
}

TEST(Completion, UnknownCommandsAndPlainArgumentsOfferNothing) {
  EXPECT_TRUE(offered("frobnicate ", "da").empty());
  EXPECT_TRUE(offered("kv-put ", "da").empty());
  EXPECT_FALSE(complete_word(CommandTable::builtin(), "kv-put ", "da", kSdfs).local_path);
}

}  // namespace
}  // namespace idunno::cli
