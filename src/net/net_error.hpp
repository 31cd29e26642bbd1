#pragma once
// NetError: a local networking setup failure a user must act on (an address
// that cannot be bound or resolved). Runtime I/O outcomes (reset, refused,
// closed) stay boost::system::system_error as Asio reports them.

#include <stdexcept>
#include <string>

namespace idunno::net {

class NetError : public std::runtime_error {
 public:
  explicit NetError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace idunno::net
