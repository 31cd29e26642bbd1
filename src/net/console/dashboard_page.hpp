#pragma once
// Loads the dashboard page the console serves at GET /.
//
// Why: the page is a file (web/index.html) so that it can be edited without
// rebuilding; when it is missing the console still answers / with a short
// page that says so and how to reach the data without it. Read once when the
// server is constructed. Callable from any thread.

#include <filesystem>
#include <string>

namespace idunno::net::console {

// The file's contents, or the built-in fallback page naming `path`.
std::string load_dashboard_page(const std::filesystem::path& path);

// The page served when the dashboard file is missing.
std::string missing_dashboard_page(const std::filesystem::path& path);

}  // namespace idunno::net::console
