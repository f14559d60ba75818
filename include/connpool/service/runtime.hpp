// Runtime: the pools a configuration describes, their metrics and the admin server, running
// on the caller's io_context. It is what `connpool serve` and `connpool demo` run, for any
// service to embed: the caller owns the io_context, its threads and its signal handling, and
// calls drain() on shutdown (examples/embedded_service.cpp).
//
// A Redis pool's url picks the client: redis://, rediss://, unix:// and redis-sentinel:// give a
// redis::Client (redis_pools()); redis-cluster:// and rediss-cluster:// a cluster::ClusterClient
// (cluster_pools()), whose per-node pools ("<name>@host:port") the admin API and /metrics list as
// the slot map has them. The configuration's pool policy replaces the URL's for every kind.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/core/pool.hpp"  // core::PoolOptions, core::LogLevel
#include "connpool/firestore/client.hpp"
#include "connpool/monitor/admin_server.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"
#include "connpool/proxy/proxy_server.hpp"
#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::service {

struct RuntimeOptions {
  /// Log sink handed to every pool.
  std::function<void(core::LogLevel, std::string_view)> logger;
  /// Serve the admin endpoint (config.admin). Default true.
  bool admin = true;
  /// Overrides config.admin.port when set (the demo uses 0: any free port).
  std::optional<std::uint16_t> admin_port;
  /// Raise the soft RLIMIT_NOFILE to the hard limit first (raise_fd_limit()): every pool
  /// connection and admin client is a descriptor, and the usual soft limit is 1024. Default true.
  bool raise_fd_limit = true;
};

class Runtime {
 public:
  /// Creates every configured pool on `executor` (warm-up starts at once), registers each with
  /// the metrics and pool registries, and starts the admin server. Errors name the pool.
  static Result<std::unique_ptr<Runtime>> start(const config::Config& config,
                                                boost::asio::any_io_executor executor,
                                                RuntimeOptions options);
  ~Runtime();

  struct RedisPoolEntry {
    std::string name;
    redis::Client client;
  };
  /// A Redis Cluster pool: one redis::Client per node, created as the slot map names them.
  struct ClusterPoolEntry {
    std::string name;
    redis::cluster::ClusterClient client;
  };
  /// A `connpool proxy` from the configuration's `proxies:`, forwarding to the Redis pool `pool`.
  struct ProxyEntry {
    std::string name;
    std::string pool;
    std::shared_ptr<proxy::ProxyServer> server;
  };
  struct FirestorePoolEntry {
    std::string name;
    firestore::Client client;
  };

  [[nodiscard]] redis::Client* redis(std::string_view name = {});
  [[nodiscard]] firestore::Client* firestore(std::string_view name = {});
  [[nodiscard]] redis::cluster::ClusterClient* cluster(std::string_view name = {});
  [[nodiscard]] const std::vector<RedisPoolEntry>& redis_pools() const { return redis_; }
  [[nodiscard]] const std::vector<ClusterPoolEntry>& cluster_pools() const { return cluster_; }
  [[nodiscard]] const std::vector<FirestorePoolEntry>& firestore_pools() const {
    return firestore_;
  }
  [[nodiscard]] const std::vector<ProxyEntry>& proxies() const { return proxies_; }
  [[nodiscard]] const monitor::PoolRegistry& registry() const { return *pools_; }
  /// "http://127.0.0.1:9464" or empty without an admin server.
  [[nodiscard]] std::string admin_url() const;

  /// Graceful drain of every pool within `deadline` (a cluster's node pools too: they stop
  /// taking work at once, then get what is left of the deadline); the admin server stays up
  /// until stop().
  boost::asio::awaitable<void> drain(std::chrono::milliseconds deadline);
  /// Stops the admin server.
  void stop_admin() noexcept;

 private:
  Runtime() = default;
  config::Environment environment_ = config::Environment::development;
  std::shared_ptr<monitor::MetricsRegistry> metrics_;
  std::shared_ptr<monitor::PoolRegistry> pools_;
  std::vector<RedisPoolEntry> redis_;
  std::vector<ClusterPoolEntry> cluster_;
  std::vector<FirestorePoolEntry> firestore_;
  std::vector<ProxyEntry> proxies_;
  std::optional<monitor::AdminServer> admin_;
  Result<void> start_proxies(const config::Config& config, boost::asio::any_io_executor executor,
                             const RuntimeOptions& options);  // runtime_proxies.cpp
  void stop_proxies() noexcept;
};

}  // namespace connpool::service
