// ClusterUrl: the seed nodes of a Redis Cluster and how to pool connections to its nodes.
// Plain data; copy freely. See docs/redis-cluster.md.
//
//   redis-cluster://[user:password@]host1[:port][,host2[:port]...][/][?option=value&...]
//   rediss-cluster://...                       (TLS to every node)
//
// Query options: everything a redis:// URL accepts (pool sizes, timeouts, pipeline_auto,
// tls_*, client_name; they apply to each node's pools) plus the cluster options below. A
// database other than 0 is refused (Redis Cluster has only db 0).
//
// Secrets: the password is kept only in node.password; redacted() and every parse error show
// it as "***" or not at all.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/url.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::cluster {

/// Which node serves read-only commands. Query: read_from=primary|replica|nearest.
enum class ReadFrom {
  primary,  ///< every command goes to the slot's primary (default; reads see every write)
  replica,  ///< reads go to one of the slot's replicas (round robin), the primary if none
  nearest,  ///< reads go to the node of the slot's shard with the lowest measured PING time
};

std::string_view to_string(ReadFrom r) noexcept;

struct NodeAddress {
  std::string host;
  std::uint16_t port = 6379;
  /// "host:port" ("[v6]:port" for IPv6), the form used in MOVED/ASK and pool names.
  [[nodiscard]] std::string text() const;
  friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

struct ClusterUrl {
  /// Where discovery starts; at least one. Default port 6379.
  std::vector<NodeAddress> seeds;
  /// Template for every node's connections (credentials, TLS, pool policy, timeouts); host and
  /// port are replaced per node.
  RedisUrl node;
  ReadFrom read_from = ReadFrom::primary;
  /// MOVED/ASK redirects one command may follow before errc::too_many_redirects. Default 5.
  /// Query: max_redirects.
  std::size_t max_redirects = 5;
  /// Retries of one command after TRYAGAIN, CLUSTERDOWN or an unreachable node (the command
  /// was not sent), with exponential backoff from retry_backoff (capped at 1 s). Default 8
  /// (about 3 s in all). 0 = no retries. Query: max_retries.
  std::size_t max_retries = 8;
  /// First backoff delay. Default 25 ms. Query: retry_backoff.
  std::chrono::milliseconds retry_backoff{25};
  /// Period of the background slot map refresh (CLUSTER SLOTS). Default 10 s; 0 = refresh only
  /// on MOVED and on node failures (a watchdog checks the node pools every 500 ms for failed
  /// connects either way). Query: refresh_interval.
  std::chrono::milliseconds refresh_interval{10000};

  /// Parses a URL. Errors are errc::invalid_argument (syntax) or errc::invalid_config (a bad
  /// option value), name the bad part, and never contain the password.
  static Result<ClusterUrl> parse(std::string_view url);

  /// The URL with the password replaced by "***": safe for logs.
  [[nodiscard]] std::string redacted() const;
  /// The connection URL of one node: `node` with `address`'s host and port.
  [[nodiscard]] RedisUrl node_url(const NodeAddress& address) const;
};

}  // namespace connpool::redis::cluster
