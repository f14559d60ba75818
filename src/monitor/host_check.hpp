// The Host header check that defeats DNS rebinding: a page in a browser can point a name it
// controls at 127.0.0.1 and read the admin API through it, but the browser still sends that
// name as Host. Only names nobody else controls are accepted.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace connpool::monitor::detail {

/// True when `host` (a Host header value, port included or not) names this server safely: an
/// IPv4 literal ("10.0.0.7:9464"), a bracketed IPv6 literal ("[::1]:9464"), "localhost", or one
/// of `allowed_names` (compared without case; a trailing dot is ignored). An empty value (no
/// Host header: HTTP/1.0 probes) is accepted, since a browser always sends one. A malformed
/// port or address is refused.
[[nodiscard]] bool host_allowed(std::string_view host, std::span<const std::string> allowed_names);

}  // namespace connpool::monitor::detail
