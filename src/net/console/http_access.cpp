#include "net/console/http_access.hpp"

#include <algorithm>
#include <cctype>

#include "core/config.hpp"

namespace idunno::net::console {

namespace http = boost::beast::http;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

// The token a request presents, from the header or (where allowed) the query.
std::optional<std::string> presented_token(const AccessRequest& request) {
  constexpr std::string_view kBearer = "Bearer ";
  if (request.authorization.size() > kBearer.size() &&
      iequals(request.authorization.substr(0, kBearer.size()), kBearer)) {
    return std::string(request.authorization.substr(kBearer.size()));
  }
  const bool query_allowed = request.route == Route::index || request.route == Route::websocket;
  if (query_allowed && request.query != nullptr) {
    if (auto it = request.query->find("token"); it != request.query->end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

RequestTarget parse_target(std::string_view target) {
  RequestTarget result;
  const auto question = target.find('?');
  result.path = std::string(target.substr(0, question));
  if (question == std::string_view::npos) return result;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto key = percent_decode(pair.substr(0, equals));
    auto value = percent_decode(equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1));
    // A malformed escape makes the parameter unusable, not the request.
    if (key && value) result.query.emplace(std::move(*key), std::move(*value));
  }
  return result;
}

Route route_of(std::string_view path) {
  if (path == "/healthz") return Route::healthz;
  if (path == "/metrics") return Route::metrics;
  if (path == "/" || path == "/index.html") return Route::index;
  if (path == "/ws") return Route::websocket;
  return Route::not_found;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The length of the token is not a secret worth hiding.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

std::string host_of(std::string_view host_header) {
  if (host_header.starts_with('[')) {
    const auto close = host_header.find(']');
    return std::string(host_header.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  const auto colon = host_header.rfind(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon != std::string_view::npos && host_header.find(':') == colon) {
    return std::string(host_header.substr(0, colon));
  }
  return std::string(host_header);
}

AccessDecision check_access(const std::string& token, const AccessRequest& request) {
  if (!token.empty()) {
    const auto presented = presented_token(request);
    if (!presented) {
      return {http::status::unauthorized,
              "unauthorized: this console requires a token. Send the header 'Authorization: Bearer TOKEN' "
              "(idunno --token TOKEN), or open /?token=TOKEN in a browser.\n"};
    }
    if (!constant_time_equal(*presented, token)) {
      return {http::status::unauthorized,
              "unauthorized: wrong console token; use the value of console.token in the node's config.\n"};
    }
    return {};
  }
  if (!request.host.empty() && !core::is_loopback_host(host_of(request.host))) {
    return {http::status::forbidden,
            "forbidden: this console has no token and answers only requests addressed to a loopback host "
            "(127.0.0.1, localhost, [::1]); set console.token to serve other names.\n"};
  }
  if (request.route == Route::websocket && !request.origin.empty()) {
    const auto scheme_end = request.origin.find("://");
    const std::string_view origin_host =
        scheme_end == std::string_view::npos ? std::string_view{} : request.origin.substr(scheme_end + 3);
    if (origin_host.empty() || (!iequals(origin_host, request.host) && !request.trusted_origin)) {
      return {http::status::forbidden,
              "forbidden: WebSocket from another origin refused; open the dashboard from this console's own "
              "address, or set console.token.\n"};
    }
  }
  return {};
}

}  // namespace idunno::net::console
