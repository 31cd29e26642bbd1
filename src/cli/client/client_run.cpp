#include "cli/client/client_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "cli/client/client_jobs.hpp"
#include "cli/client/progress_bar.hpp"
#include "net/console/blocking_console_client.hpp"
#include "net/console/console_client.hpp"
#include "net/console/file_transfer.hpp"

namespace idunno::cli {

namespace json = boost::json;
namespace fs = std::filesystem;
using net::console::ConsoleAuthError;
using net::console::ConsoleUnreachable;

namespace {

int fail(const ClientOptions& options, const ClientStreams& io, int code, const std::string& message) {
  io.err << "idunno: " << message << "\n";
  if (options.json) io.out << json::serialize(json::object{{"ok", false}, {"error", message}}) << "\n";
  return code;
}

void print(const ClientOptions& options, const ClientStreams& io, const CommandTable& table, const json::value& result) {
  if (options.json) {
    io.out << json::serialize(result) << "\n";
    return;
  }
  std::string text = render_text(table, options.command, result);
  if (!text.empty() && text.back() != '\n') text += '\n';
  io.out << text;
}

// Nullopt when `path` is a readable regular file; else why not.
std::optional<std::string> unreadable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read " + path + ": " + std::strerror(errno);
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  ::close(fd);
  if (!regular) return "cannot read " + path + ": not a regular file";
  return std::nullopt;
}

// Nullopt when a file can be created at `path`; else why not.
std::optional<std::string> unwritable(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "cannot write " + path + ": it is a directory";
  const fs::path dir = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) return "cannot write " + path + ": no folder " + dir.string();
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return "cannot write " + path + ": " + std::strerror(errno);
  return std::nullopt;
}

int run_transfer(const ClientOptions& options, const CommandTable& table, const CommandSpec& spec,
                 const ClientStreams& io) {
  std::optional<std::string> input;
  std::optional<std::string> output;
  for (std::size_t i = 0; i < options.args.size(); ++i) {
    const ArgKind kind = spec.kind_of(i);
    if (kind == ArgKind::local_input) input = options.args[i];
    if (kind == ArgKind::local_output) output = options.args[i];
  }
  // Before the node is contacted.
  if (input) {
    if (auto problem = unreadable(*input)) return fail(options, io, kExitFailed, *problem);
  }
  if (output) {
    if (auto problem = unwritable(*output)) return fail(options, io, kExitFailed, *problem);
  }
  if (!spec.transfer) return fail(options, io, kExitUsage, options.command + " moves no file");
  const std::string target = spec.transfer->target(options.args);
  ProgressBar bar(io.progress, io.progress != nullptr && io.progress_is_terminal && !options.json,
                  input ? "sending" : "receiving");
  net::console::TransferOptions transfer;
  transfer.progress = [&bar](const net::console::TransferProgress& p) { bar.update(p.done, p.total); };
  transfer.via_replica = true;  // a get reads from a replica's console, not through the node
  try {
    if (input) {
      const auto outcome = net::console::upload_file(options.node, options.token, "PUT", target, *input, transfer);
      bar.finish();
      if (!outcome.ok()) return fail(options, io, kExitFailed, transfer_error(outcome));
      json::value result;
      try {
        result = json::parse(outcome.body);
      } catch (const std::exception&) {
        result = json::object{{"bytes", outcome.bytes}};
      }
      print(options, io, table, result);
      return kExitOk;
    }
    if (!output) return fail(options, io, kExitUsage, options.command + " has no local file to write");
    const auto outcome = net::console::download_file(options.node, options.token, target, *output, transfer);
    bar.finish();
    if (!outcome.ok()) return fail(options, io, kExitFailed, transfer_error(outcome));
    json::object result{{"path", *output}, {"bytes", outcome.bytes}};
    if (auto it = outcome.headers.find("x-idunno-version"); it != outcome.headers.end()) {
      // A number, as in put's reply; a header that is not one is passed on as it came.
      const std::string& text = it->second;
      std::uint64_t version = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
      if (error == std::errc{} && end == text.data() + text.size()) {
        result["version"] = version;
      } else {
        result["version"] = text;
      }
    }
    print(options, io, table, result);
    return kExitOk;
  } catch (const ConsoleUnreachable& e) {
    return fail(options, io, kExitUnreachable, e.what());
  } catch (const ConsoleAuthError& e) {
    return fail(options, io, kExitFailed, std::string("refused by the node: ") + e.what());
  } catch (const std::exception& e) {
    return fail(options, io, kExitFailed, e.what());
  }
}

}  // namespace

int run_client(const ClientOptions& options, const CommandTable& table, const ClientStreams& io) {
  if (auto problem = table.check(options.command, options.args)) return fail(options, io, kExitUsage, *problem);
  const CommandSpec& spec = *table.find(options.command);
  if (spec.has_local_files()) return run_transfer(options, table, spec, io);
  std::vector<std::string> args = options.args;
  // Job commands whose files are on this machine (client_jobs.hpp).
  // sub's DATA, train's --data and --eval: local files are uploaded first.
  std::vector<std::size_t> local_files;
  if (options.command == "sub" && !args.at(1).starts_with("sdfs:")) local_files.push_back(1);
  if (options.command == "train") {
    for (std::size_t i = 1; i + 1 < args.size(); ++i) {
      if ((args[i] == "--data" || args[i] == "--eval") && !args[i + 1].starts_with("sdfs:"))
        local_files.push_back(i + 1);
    }
  }
  const bool local_data = !local_files.empty();
  std::optional<std::string> results_to;
  if (options.command == "get-results" && args.size() == 2) {
    if (auto problem = unwritable(args[1])) return fail(options, io, kExitFailed, *problem);
    results_to = args[1];
    args.pop_back();
  }
  ProgressBar bar(io.progress, io.progress != nullptr && io.progress_is_terminal && !options.json,
                  local_data ? "sending" : "receiving");
  const TransferProgressFn progress = [&bar](std::uint64_t done, std::optional<std::uint64_t> total) {
    bar.update(done, total);
  };
  try {
    for (const std::size_t i : local_files) {
      std::string sdfs_name;
      try {
        sdfs_name = upload_job_data(options.node, options.token, args[i], progress);
      } catch (const std::runtime_error& e) {
        return fail(options, io, kExitFailed, e.what());
      }
      bar.finish();
      args[i] = sdfs_name;
    }
    net::console::BlockingConsoleClient client(options.node, options.token);
    const auto reply = client.call(options.command, args);
    if (!reply.outcome.ok) return fail(options, io, kExitFailed, reply.outcome.error);
    json::value result = reply.outcome.result;
    if (results_to) {
      const auto& o = result.as_object();
      const auto version = o.at("results_version").to_number<std::uint64_t>();
      if (version == 0) {
        return fail(options, io, kExitFailed, "the job " + args[0] + " is not done yet: its results are not ready");
      }
      try {
        download_results(options.node, options.token, std::string(o.at("results").as_string()), version, *results_to,
                         progress);
      } catch (const std::runtime_error& e) {
        return fail(options, io, kExitFailed, e.what());
      }
      bar.finish();
      result.as_object()["path"] = *results_to;
    }
    print(options, io, table, result);
    return kExitOk;
  } catch (const ConsoleUnreachable& e) {
    return fail(options, io, kExitUnreachable,
                "cannot reach the node at " + options.node.to_string() + ": " + e.what());
  } catch (const ConsoleAuthError& e) {
    return fail(options, io, kExitFailed, std::string("refused by the node: ") + e.what());
  } catch (const std::exception& e) {
    return fail(options, io, kExitUnreachable, std::string("lost the node: ") + e.what());
  }
}

}  // namespace idunno::cli
