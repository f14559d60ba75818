// Parsing a MOVED / ASK reply's text, shared by the routing layer (cluster_route.cpp) and the
// proxy, which sees redirects on its pinned leases (src/proxy/cluster_pinned.cpp). Internal.
#pragma once

#include "connpool/redis/cluster/cluster_url.hpp"

#include <cstdint>
#include <string_view>

namespace connpool::redis::cluster::detail {

/// Where a MOVED / ASK reply sends a slot.
struct RedirectTarget {
  std::uint16_t slot = 0;
  NodeAddress target;
};

/// Parses "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" (any first word); an empty
/// host means the host of `from`, the node that answered. False when malformed.
bool parse_redirect(std::string_view text, const NodeAddress& from, RedirectTarget& out);

}  // namespace connpool::redis::cluster::detail
