// Where a proxy listens: "host:port" (TCP; "[::1]:6380" for IPv6) or "unix:///path" (a Unix
// socket; "unix:/path" too).
#pragma once

#include "connpool/core/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace connpool::proxy {

struct ListenAddress {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;        ///< tcp: a numeric address ("127.0.0.1", "::1", "0.0.0.0")
  std::uint16_t port = 0;  ///< tcp: 0 = any free port
  std::string path;        ///< unix_socket

  [[nodiscard]] std::string to_string() const;
};

/// Errors: invalid_argument naming what is wrong with `text`.
Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace connpool::proxy
