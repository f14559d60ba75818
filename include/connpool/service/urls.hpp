// Which client a Redis pool's url asks for. One answer for the runtime, `connpool check` and
// `connpool bench redis`.
#pragma once

#include <string_view>

namespace connpool::service {

/// redis-cluster:// or rediss-cluster://: a Redis Cluster client (seed nodes, slot map).
[[nodiscard]] constexpr bool is_cluster_url(std::string_view url) noexcept {
  return url.starts_with("redis-cluster://") || url.starts_with("rediss-cluster://");
}

}  // namespace connpool::service
