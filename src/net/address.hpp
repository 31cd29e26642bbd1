#pragma once
// Conversions between the config's HostPort and Asio endpoints, shared by
// the UDP and TCP transports.
//
// Why: hosts in the config are IP literals or "localhost"; one place decides
// how those become endpoints and how a peer's endpoint is reported back.

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/basic_endpoint.hpp>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace idunno::net {

// The IP address for `host` (an IPv4/IPv6 literal or "localhost"); nullopt
// for anything that would need a name lookup.
std::optional<boost::asio::ip::address> parse_ip(const std::string& host);

template <typename Protocol>
core::HostPort to_host_port(const boost::asio::ip::basic_endpoint<Protocol>& endpoint) {
  return core::HostPort{endpoint.address().to_string(), endpoint.port()};
}

}  // namespace idunno::net
