#include "net/console/dashboard_page.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace idunno::net::console {

namespace {

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string missing_dashboard_page(const std::filesystem::path& path) {
  return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>IDunno console</title></head>\n"
         "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\n"
         "<h1>IDunno console</h1>\n<p>The dashboard page <code>" +
         html_escape(path.string()) +
         "</code> was not found, so there is no dashboard here.</p>\n"
         "<p>The console itself works: WebSocket commands at <code>/ws</code>, metrics at "
         "<code>/metrics</code>, health at <code>/healthz</code>, and the <code>idunno</code> client.</p>\n"
         "</body></html>\n";
}

std::string load_dashboard_page(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    spdlog::warn("event=console_page_missing path={}", path.string());
    return missing_dashboard_page(path);
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

}  // namespace idunno::net::console
