// Parsing of --listen values (see listen_address.hpp).
#include "connpool/proxy/listen_address.hpp"

#include <charconv>

namespace connpool::proxy {

std::string ListenAddress::to_string() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress a;
  const auto bad = [&](std::string_view why) {
    return Error(errc::invalid_argument,
                 "listen address '" + std::string(text.substr(0, 200)) + "': " + std::string(why));
  };
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);
    if (path.empty() || path[0] != '/') return bad("a Unix socket needs an absolute path");
    if (path.size() >= 108) return bad("the Unix socket path is too long (max 107 bytes)");
    a.kind = ListenAddress::Kind::unix_socket;
    a.path = std::string(path);
    return a;
  }
  std::string_view host;
  std::string_view port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port or unix:///path");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return bad("the host is empty");
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  a.host = host == "localhost" ? std::string("127.0.0.1") : std::string(host);
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

}  // namespace connpool::proxy
