// PoolRegistry: the list of pools the admin server and the metrics registry report on, with each
// pool's type erased to a "stats source" (a function returning a PoolStats snapshot).
#pragma once

#include "connpool/core/pool_config.hpp"
#include "connpool/core/result.hpp"
#include "connpool/core/stats.hpp"
#include "connpool/monitor/prometheus_observer.hpp"
#include "connpool/monitor/proxy_source.hpp"

#include <concepts>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::monitor {

/// One pool as the monitoring side sees it.
struct PoolSource {
  /// Unique within a registry; used in URLs and as the `pool` label. 1..128 printable ASCII
  /// characters, no '/'.
  std::string name;
  /// "redis", "firestore", ... (the `backend` label).
  std::string backend;
  /// Endpoint for display. Should arrive redacted; the admin API redacts `user:pass@` again.
  std::string target;
  /// For a pool serving one node of a cluster: the node ("host:port", PoolOptions::node), shown
  /// in the admin API and the `node` metrics label. Empty otherwise.
  std::string node;
  /// Free text such as "production" or "staging" (empty when unknown).
  std::string environment;
  /// Required. Returns a consistent snapshot; called from the admin server's threads, so it must be
  /// thread-safe (Pool::stats() is).
  std::function<core::PoolStats()> stats;
  /// Optional: the pool's current policy, shown in the admin API.
  std::function<core::PoolConfig()> config;
  /// Optional: the pool's observer, the source of wait/usage/connect quantiles in the admin API.
  std::shared_ptr<const PrometheusObserver> observer;
  /// Optional: one record per open connection (Pool::connections()), listed by the single-pool
  /// admin endpoint. Thread-safe like `stats`.
  std::function<std::vector<core::ConnectionInfo>()> connections;
  /// Optional: whatever keeps the functions above valid (e.g. a client handle owning the pool),
  /// held as long as this source is in use.
  std::shared_ptr<const void> owner;
};

/// The PoolSource of a live Pool: its name, backend, target, node and observer; stats, config
/// and connections read from it.
///
/// Lifetime: the functions keep a pointer to `pool`; it must outlive the source unless `owner`
/// (set it after the call) keeps it alive.
/// Any type with Pool<C>'s options()/stats()/config() works, so this header does not need to
/// include pool.hpp (Asio's coroutine machinery).
template <class P>
requires requires(const P& p) {
  { p.stats() } -> std::same_as<core::PoolStats>;
  { p.config() } -> std::same_as<core::PoolConfig>;
  p.options().name;
  p.options().observer;
}
PoolSource make_pool_source(const P& pool, std::string environment = {}) {
  const auto& options = pool.options();
  PoolSource source;
  source.name = options.name;
  source.backend = options.backend;
  source.target = options.target;
  source.node = options.node;
  source.environment = std::move(environment);
  source.stats = [&pool] { return pool.stats(); };
  source.config = [&pool] { return pool.config(); };
  source.observer = std::dynamic_pointer_cast<const PrometheusObserver>(options.observer);
  if constexpr (requires { pool.connections(); }) {
    source.connections = [&pool] { return pool.connections(); };
  }
  return source;
}

/// Thread safety: every method may be called concurrently from any thread. Readers get
/// shared_ptr copies, so no lock is held while a stats source runs and a pool removed during a
/// request is still read safely by that request.
///
/// Not a singleton: create one per process (or per test) and hand it to the MetricsRegistry and
/// the AdminServer.
class PoolRegistry {
 public:
  using Entry = std::shared_ptr<const PoolSource>;

  /// Errors: invalid_argument (bad name, no stats function), already_exists (name taken).
  Result<void> add(PoolSource source);

  /// Registers a live Pool under its own name, backend, target and observer.
  ///
  /// Lifetime: the registry keeps a pointer to `pool`, so the Pool must neither move nor be
  /// destroyed before remove(pool.name()) (typically: declare the registry before the pool, or
  /// remove it in the pool owner's destructor).
  template <class P>
  requires requires(const P& p) { make_pool_source(p); }
  Result<void> add(const P& pool, std::string environment = {}) {
    return add(make_pool_source(pool, std::move(environment)));
  }

  /// Registers a set of pools that changes on its own, such as the per-node pools of a Redis
  /// Cluster client (nodes come and go with the slot map): `sources` is called at every list()
  /// and find(), without the registry's lock held, from the admin server's and the scrapers'
  /// threads, so it must be thread-safe. Its sources must set `owner` when their functions
  /// point into something that may go away. Sources with an invalid name, without a stats
  /// function, or with the name of a pool listed before them are left out.
  /// Errors: invalid_argument (empty group name or no function), already_exists (group taken).
  Result<void> add_group(std::string group, std::function<std::vector<PoolSource>()> sources);
  /// Forgets a group; false when there is none of that name.
  bool remove_group(std::string_view group);

  /// Forgets a pool; false when no pool has that name.
  bool remove(std::string_view name);

  /// Every pool (those added one by one, then the groups' current ones), ordered by name.
  [[nodiscard]] std::vector<Entry> list() const;
  /// The pool named `name`, or null.
  [[nodiscard]] Entry find(std::string_view name) const;
  [[nodiscard]] std::size_t size() const;

  /// Registers a proxy, listed by the admin API under its pool (`source.pool`; a proxy whose
  /// pool is not registered is not shown). Errors: invalid_argument (bad name, no snapshot
  /// function), already_exists (a proxy of that name).
  Result<void> add_proxy(ProxySource source);
  /// Forgets a proxy; false when there is none of that name.
  bool remove_proxy(std::string_view name);
  /// The proxies forwarding to `pool`, ordered by name.
  [[nodiscard]] std::vector<std::shared_ptr<const ProxySource>> proxies_of(
      std::string_view pool) const;

 private:
  using Group =
      std::pair<std::string, std::shared_ptr<const std::function<std::vector<PoolSource>()>>>;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // sorted by name; a handful of pools, so a vector beats a map
  std::vector<Group> groups_;
  std::vector<std::shared_ptr<const ProxySource>> proxies_;  // sorted by name
};

/// True when `name` is usable as a pool name (see PoolSource::name).
[[nodiscard]] bool valid_pool_name(std::string_view name) noexcept;

}  // namespace connpool::monitor
