#include "net/rpc_error.hpp"

namespace idunno::net {

const char* to_string(RpcErrorCode code) {
  switch (code) {
    case RpcErrorCode::unreachable:
      return "unreachable";
    case RpcErrorCode::timeout:
      return "timeout";
    case RpcErrorCode::remote:
      return "remote";
    case RpcErrorCode::protocol:
      return "protocol";
    case RpcErrorCode::stopped:
      return "stopped";
    case RpcErrorCode::stale_term:
      return "stale_term";
  }
  return "unknown";
}

}  // namespace idunno::net
