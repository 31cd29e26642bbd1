#pragma once
// Validation of SDFS file names.
//
// Why: a name reaches the namespace from users (commands, HTTP paths) and
// from the log; every node must accept and refuse the same names, and a name
// must print safely in logs and terminals. A name is 1..1024 bytes of valid
// UTF-8 (shortest form, no surrogates, nothing above U+10FFFF) without
// control characters (C0, DEL, C1). Slashes and ".." are ordinary
// characters: names are flat and never become paths. Stateless; any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace idunno::fs {

inline constexpr std::size_t kMaxSdfsNameBytes = 1024;

// nullopt if `name` is a valid SDFS name, else what is wrong with it.
std::optional<std::string> sdfs_name_error(std::string_view name);

}  // namespace idunno::fs
