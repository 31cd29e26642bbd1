#include "net/address.hpp"

namespace idunno::net {

std::optional<boost::asio::ip::address> parse_ip(const std::string& host) {
  if (host == "localhost") return boost::asio::ip::address_v4::loopback();
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return address;
}

}  // namespace idunno::net
