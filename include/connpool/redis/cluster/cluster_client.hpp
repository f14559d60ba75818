// ClusterClient: a pooled Redis Cluster client. One redis::Client (the unchanged pool core,
// with its own stats, circuit breaker and auto-pipelining) per cluster node, a slot map from
// CLUSTER SLOTS, and routing by the CRC16 hash slot of each command's key. See
// docs/redis-cluster.md.
//
// Routing: MOVED updates the slot map and re-sends to the named node (and triggers a
// background refresh); ASK re-sends once, with ASKING, on an exclusive lease of the named
// node; both count against url.max_redirects (errc::too_many_redirects past it). TRYAGAIN,
// CLUSTERDOWN and failures that prove the command was not sent (connect_failed,
// connect_timeout, circuit_open, pool_closed) are retried with exponential backoff up to
// url.max_retries, refreshing the slot map in between. An I/O error or timeout on a sent
// command is returned (the command may have run) and triggers a refresh. Commands for a dead
// primary's slots wait in its pool (which keeps reconnecting) until a refresh finds the
// promoted replica and closes that pool (they are then re-sent), or until the pool's
// acquire_timeout (returned as errc::acquire_timeout).
//
// Multi-key commands (mget, mset, del, exists) are split by slot, sent concurrently and
// reassembled in the caller's order; mset is then not atomic across slots. Transactions must
// stay within one slot (errc::cross_slot otherwise). command() routes by the command's first
// key (see docs for the key rules); keyless commands go to one primary.
//
// Thread safety and lifetimes: as redis::Client. A ClusterClient is a cheap handle; copies
// share the node clients. string_view / span arguments must stay valid until the returned
// awaitable completes. wait() must not be called on a thread running the executor.
#pragma once

#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_url.hpp"
#include "connpool/redis/cluster/hash_slot.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::redis::cluster {

namespace detail {
struct ClusterState;
}

enum class NodeRole { primary, replica };

/// One node of the current slot map.
struct NodeInfo {
  NodeAddress address;
  NodeRole role = NodeRole::primary;
  /// The node's pooled client; its pools are named "<name>@host:port" ("-exclusive" for the
  /// exclusive one), so per-node stats, circuit breaker and metrics come from the pool core.
  Client client;
  /// Last PING round trip measured for read_from=nearest; 0 when not measured.
  std::chrono::microseconds rtt{0};
};

/// Counters of the routing layer (monotonic since create()).
struct ClusterStats {
  std::uint64_t moved = 0;             ///< MOVED redirects followed
  std::uint64_t ask = 0;               ///< ASK redirects followed
  std::uint64_t retries = 0;           ///< TRYAGAIN / CLUSTERDOWN / unreachable-node retries
  std::uint64_t refreshes = 0;         ///< slot maps loaded
  std::uint64_t refresh_failures = 0;  ///< refreshes for which no node answered
};

/// Hooks for embedding: called once per node pool created (from any thread, without locks
/// held), e.g. to change a node's pool options. Observers need no hook: each node's pools get
/// theirs from `PoolOptions::observer_factory` (named "<name>@host:port"), as a Client's
/// "-exclusive" pool does.
struct NodeHooks {
  std::function<void(const NodeAddress&, core::PoolOptions&)> configure_pool;
};

class ClusterPipeline;

class ClusterClient {
 public:
  template <class T>
  using Task = boost::asio::awaitable<Result<T>>;
  using Field = Client::Field;

  /// Validates the URL and starts the background refresh; the slot map is loaded by the first
  /// command (or refresh()). `options.name` prefixes the node pool names (default
  /// "redis-cluster").
  static Result<ClusterClient> create(boost::asio::any_io_executor executor, ClusterUrl url,
                                      core::PoolOptions options = {}, NodeHooks hooks = {});
  static Result<ClusterClient> create(boost::asio::any_io_executor executor, std::string_view url,
                                      core::PoolOptions options = {}, NodeHooks hooks = {});

  /// Loads the slot map now from the known nodes, then the seeds. errc::unavailable when no
  /// node answers.
  Task<void> refresh();

  // ---- generic -----------------------------------------------------------------------------
  /// Any command, routed by its key; error replies (other than redirects) come back as
  /// Reply::Type::error.
  Task<Reply> command(std::span<const std::string_view> args);
  Task<Reply> command(std::vector<std::string> args);
  /// PING every primary.
  Task<void> ping();

  // ---- strings and keys --------------------------------------------------------------------
  Task<std::optional<std::string>> get(std::string_view key);
  Task<bool> set(std::string_view key, std::string_view value, SetOptions options = {});
  Task<long long> del(std::string_view key);
  Task<long long> del(std::span<const std::string_view> keys);  ///< split by slot
  Task<long long> exists(std::string_view key);
  Task<long long> exists(std::span<const std::string_view> keys);  ///< split by slot
  Task<bool> expire(std::string_view key, std::chrono::seconds ttl);
  Task<long long> ttl(std::string_view key);
  Task<long long> incr(std::string_view key);
  Task<long long> incrby(std::string_view key, long long delta);
  /// Split by slot; values in the order of `keys`.
  Task<std::vector<std::optional<std::string>>> mget(std::span<const std::string_view> keys);
  /// Split by slot: atomic per slot only.
  Task<void> mset(std::span<const Field> pairs);

  // ---- hashes, lists, sets, sorted sets, scripts -------------------------------------------
  Task<std::optional<std::string>> hget(std::string_view key, std::string_view field);
  Task<long long> hset(std::string_view key, std::string_view field, std::string_view value);
  Task<long long> hset(std::string_view key, std::span<const Field> fields);
  Task<std::vector<std::pair<std::string, std::string>>> hgetall(std::string_view key);
  Task<long long> lpush(std::string_view key, std::span<const std::string_view> values);
  Task<long long> rpush(std::string_view key, std::span<const std::string_view> values);
  Task<std::vector<std::string>> lrange(std::string_view key, long long start, long long stop);
  Task<long long> sadd(std::string_view key, std::span<const std::string_view> members);
  Task<std::vector<std::string>> smembers(std::string_view key);
  Task<long long> zadd(std::string_view key, std::span<const ScoredMember> members);
  Task<std::vector<std::string>> zrange(std::string_view key, long long start, long long stop);
  /// EVAL on the slot of `keys` (all in one slot, else errc::cross_slot; no keys: any primary).
  Task<Reply> eval(std::string_view script, std::span<const std::string_view> keys,
                   std::span<const std::string_view> args);

  // ---- batches and stateful work -----------------------------------------------------------
  /// A pipeline split per node when executed; replies in the order added.
  [[nodiscard]] ClusterPipeline pipeline() const;
  /// MULTI/EXEC on an exclusive lease of the primary owning the one slot of `keys` (every key
  /// the transaction will touch) and `watch_keys` (WATCHed first). errc::cross_slot naming the
  /// keys and their slots when they span several slots.
  Task<Transaction> transaction(std::span<const std::string_view> keys,
                                std::span<const std::string_view> watch_keys = {});

  template <class T>
  Result<T> wait(boost::asio::awaitable<Result<T>> op) const {
    return boost::asio::co_spawn(executor(), std::move(op), boost::asio::use_future).get();
  }

  // ---- introspection -----------------------------------------------------------------------
  /// Every node of the current slot map (primaries first); empty before the first refresh.
  [[nodiscard]] std::vector<NodeInfo> nodes() const;
  /// The primary owning `slot` in the current map, if known.
  [[nodiscard]] std::optional<NodeAddress> primary_for_slot(std::uint16_t slot) const;
  [[nodiscard]] ClusterStats stats() const noexcept;
  [[nodiscard]] const ClusterUrl& url() const noexcept;
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  /// Stops the background refresh and closes every node's pools.
  void close_now() noexcept;

 private:
  friend class ClusterPipeline;
  friend struct redis::detail::TypedCommands;  // the typed commands shared with redis::Client
  explicit ClusterClient(std::shared_ptr<detail::ClusterState> state) : state_(std::move(state)) {}
  /// Routed command; error replies become errc::server_error.
  Task<Reply> run(std::span<const std::string_view> args);
  std::shared_ptr<detail::ClusterState> state_;
};

/// Commands queued, then sent per node (one pipeline per node, nodes concurrently) with the
/// replies returned in the order added. Commands redirected by MOVED/ASK or refused with
/// TRYAGAIN/CLUSTERDOWN are re-sent one by one through the client's routing. Arguments are
/// copied. Use from one task at a time.
class ClusterPipeline {
 public:
  explicit ClusterPipeline(ClusterClient client) : client_(std::move(client)) {}
  ClusterPipeline& add(std::span<const std::string_view> args);
  ClusterPipeline& add(std::initializer_list<std::string_view> args) {
    return add(std::span<const std::string_view>(args.begin(), args.size()));
  }
  [[nodiscard]] std::size_t size() const noexcept { return commands_.size(); }
  /// Sends what was queued since the last exec(). Error replies are Replies of type error; an
  /// I/O error on a node fails the call (its commands may have run).
  boost::asio::awaitable<Result<std::vector<Reply>>> exec();
  /// As exec(), but the replies are gathered only while they come to at most `max_bytes` on
  /// the wire: past it the call fails with errc::resource_exhausted and holds nothing more
  /// (a node's replies beyond it are read and dropped; its connection stays usable). Nodes
  /// run concurrently, each bounded by `max_bytes`, and their sum is checked as they finish,
  /// so at most (nodes x max_bytes) is ever held. For a caller relaying the replies to a
  /// bounded output (the proxy).
  boost::asio::awaitable<Result<std::vector<Reply>>> exec(std::size_t max_bytes);

 private:
  ClusterClient client_;
  std::vector<std::vector<std::string>> commands_;
};

}  // namespace connpool::redis::cluster
