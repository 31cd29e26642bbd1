#pragma once
// Streamed file transfers with a node's console over HTTP: a local file as
// a request body (PUT /v1/files/NAME and the like) and a response body into
// a local file (GET), for the idunno client.
//
// Why: a user's file must never pass through a JSON frame or sit whole in
// memory: both directions move in fixed-size chunks (memory does not grow
// with the file), with a progress callback. A download is atomic: the bytes
// go to a temporary file beside the destination, which is fsynced and
// renamed over it only when the whole body arrived with a success status;
// on any failure nothing is left behind.
//
// Blocking: each call runs its own io_context until done (the client has
// no loop of its own). Throws ConsoleUnreachable (cannot connect, lost the
// connection) and ConsoleAuthError (401/403); a node that answered with an
// error status is a returned outcome, not an exception. Use from one thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace idunno::net::console {

struct TransferProgress {
  std::uint64_t done = 0;
  std::optional<std::uint64_t> total;  // when known
};
using ProgressCallback = std::function<void(const TransferProgress&)>;

struct TransferOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds io_timeout{60'000};  // per read or write
  std::size_t chunk_bytes = 256 * 1024;
  std::size_t max_reply_bytes = 1 << 20;  // a JSON answer or an error body
  ProgressCallback progress;
  // A download asks the node, if it holds no replica of the file, for a
  // replica's console (X-Idunno-Redirect: replica), follows the 307 and
  // reads from there; when that console cannot be reached within 1 s,
  // stalls for 10 s, refuses, fails mid-body or serves another ETag than
  // the 307 named, the download starts again at the node itself. A 307 is
  // never returned to the caller.
  bool via_replica = false;
};

struct TransferOutcome {
  unsigned status = 0;
  std::string body;                            // the answer (upload) or the error body
  std::map<std::string, std::string> headers;  // of the response, lower-case names
  std::uint64_t bytes = 0;                     // body bytes moved (sent or written)
  // A download redirected to a replica that came from the node after all:
  // why (TransferOptions::via_replica); empty otherwise.
  std::string fallback;
  bool ok() const { return status >= 200 && status < 300; }
};

// Sends the file at `path` as the body of `method target` ("PUT",
// "/v1/files/x") and returns the node's answer. Throws std::runtime_error
// when the file cannot be read.
TransferOutcome upload_file(const core::HostPort& node, const std::string& token, const std::string& method,
                            const std::string& target, const std::filesystem::path& path,
                            const TransferOptions& options = {});

// GETs `target` into `path` (atomically, see above).
TransferOutcome download_file(const core::HostPort& node, const std::string& token, const std::string& target,
                              const std::filesystem::path& path, const TransferOptions& options = {});

// The temporary file a download to `path` writes first (tests).
bool is_download_temp_file(const std::filesystem::path& candidate, const std::filesystem::path& destination);

}  // namespace idunno::net::console
