#pragma once
// RpcError: the one exception an RPC call throws, and what a handler throws
// to answer with an error.
//
// Why: callers react differently to "peer unreachable" (try another node),
// "timed out" (maybe retry), "the remote said no" (report it) and "the peer
// speaks garbage" (drop it), so the code says which; the message says what
// happened and to whom.

#include <cstdint>
#include <stdexcept>
#include <string>

namespace idunno::net {

enum class RpcErrorCode {
  unreachable,  // could not connect, or the connection died before a reply
  timeout,      // no reply within the call's deadline
  remote,       // the handler failed or the method is unknown; message from the peer
  protocol,     // the peer sent something that is not valid RPC
  stopped,      // the client or server is stopping
  stale_term,   // a fenced method refused the call: the caller's term is older
                // than one the responder has seen (RpcError::term() says which)
};

// Status values carried in RpcFrame.status of a response.
enum class RpcStatus : std::uint32_t {
  ok = 0,
  error = 1,           // the handler threw
  unknown_method = 2,  // no handler registered under that name
  stale_term = 3,      // a fenced method refused a request of an older term
};

const char* to_string(RpcErrorCode code);

class RpcError : public std::runtime_error {
 public:
  RpcError(RpcErrorCode code, const std::string& message, std::uint64_t term = 0)
      : std::runtime_error(message), code_(code), term_(term) {}
  // For handlers: an error answered to the caller (arrives as `remote`).
  explicit RpcError(const std::string& message) : RpcError(RpcErrorCode::remote, message) {}

  RpcErrorCode code() const { return code_; }
  // With stale_term: the highest term the responder has seen.
  std::uint64_t term() const { return term_; }

 private:
  RpcErrorCode code_;
  std::uint64_t term_ = 0;
};

}  // namespace idunno::net
