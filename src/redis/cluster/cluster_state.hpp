// What ClusterClient handles share: the node clients, the slot map, counters and the
// background refresh. Internal.
#pragma once

#include "connpool/redis/cluster/cluster_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

namespace connpool::redis::cluster::detail {

namespace asio = boost::asio;

struct Node {
  Node(NodeAddress a, Client c) : address(std::move(a)), client(std::move(c)) {}
  NodeAddress address;
  Client client;
  /// Last PING round trip in microseconds (read_from=nearest); 0 = not measured.
  std::atomic<std::int64_t> rtt_us{0};
  /// The pool's connect_failures when the watchdog last looked (see nodes_failing()).
  std::atomic<std::uint64_t> seen_connect_failures{0};
};
using NodePtr = std::shared_ptr<Node>;

struct Shard {
  NodePtr primary;
  std::vector<NodePtr> replicas;
};

inline constexpr std::uint16_t kNoShard = 0xFFFF;

/// Immutable once published; replaced as a whole (copy-on-write) on refresh and MOVED.
struct SlotMap {
  std::vector<Shard> shards;
  std::array<std::uint16_t, kSlotCount> owner{};  ///< slot -> index into shards, or kNoShard
};

struct ClusterState : std::enable_shared_from_this<ClusterState> {
  ClusterState(asio::any_io_executor ex, ClusterUrl u, core::PoolOptions o, NodeHooks h)
      : url(std::move(u)),
        options(std::move(o)),
        hooks(std::move(h)),
        executor(ex),
        strand(asio::make_strand(ex)),
        refresh_timer(std::make_shared<asio::steady_timer>(strand)) {}
  ~ClusterState();

  ClusterUrl url;
  core::PoolOptions options;
  NodeHooks hooks;
  asio::any_io_executor executor;
  asio::strand<asio::any_io_executor> strand;  // the refresh timer lives here
  std::shared_ptr<asio::steady_timer> refresh_timer;

  mutable std::mutex mutex;
  std::shared_ptr<const SlotMap> map;    // guarded by mutex
  std::map<std::string, NodePtr> nodes;  // address text -> node; guarded by mutex
  bool closed = false;                   // guarded by mutex

  std::atomic<bool> refresh_running{false};
  std::atomic<std::chrono::steady_clock::rep> failing_until{0};  // see note_node_failure()
  std::atomic<std::uint64_t> round_robin{0};
  std::atomic<std::uint64_t> moved{0};
  std::atomic<std::uint64_t> ask{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> refreshes{0};
  std::atomic<std::uint64_t> refresh_failures{0};

  [[nodiscard]] std::shared_ptr<const SlotMap> current_map() const;
  /// The node at `address`, creating its Client on first use.
  Result<NodePtr> node_for(const NodeAddress& address);
  /// CLUSTER SLOTS from the known nodes, then the seeds; publishes the new map.
  asio::awaitable<Result<void>> refresh_now();
  /// A refresh in the background unless one is already running.
  void request_refresh();
  /// A node failed (unreachable, I/O error): refresh now, and keep refreshing every 100 ms
  /// until 5 s after the last failure, so a failover is noticed as soon as the cluster has
  /// promoted a replica (commands waiting on the dead node's pool are then released with
  /// pool_closed and retried).
  void note_node_failure();
  /// After MOVED: `slot` belongs to `node` (a copy of the map is published).
  void apply_moved(std::uint16_t slot, const NodePtr& node);
  /// The node to send a command for `slot` to (none: any primary). Loads the map if needed.
  asio::awaitable<Result<NodePtr>> pick(std::optional<std::uint16_t> slot, bool read_only);
  /// True when a node's pool failed to connect since the last call: callers may be waiting
  /// on that pool without any command failing yet (the watchdog's cue for a refresh).
  bool nodes_failing();
  /// Starts the background loop: the watchdog every 500 ms, the periodic refresh every
  /// url.refresh_interval (when not 0).
  void start_refresh_loop();
  void close() noexcept;

  /// One refresh; true when the published map differs from the previous one.
  asio::awaitable<Result<bool>> refresh_once();

 private:
  Result<bool> install(const Reply& slots, const NodeAddress& from);
  asio::awaitable<void> measure_rtts();
};

/// Sends `args` to the right node, following MOVED/ASK and retrying TRYAGAIN, CLUSTERDOWN and
/// unsent failures (see cluster_client.hpp). Error replies other than those are returned.
asio::awaitable<Result<Reply>> execute(std::shared_ptr<ClusterState> state,
                                       std::span<const std::string_view> args,
                                       std::optional<std::uint16_t> slot, bool read_only);

/// Failures that prove a command was never written, so it is safe to send it again.
bool not_sent(const Error& e) noexcept;

/// True for error replies the routing layer handles itself (MOVED, ASK, TRYAGAIN,
/// CLUSTERDOWN, READONLY): a pipeline re-sends such commands through execute().
bool is_routing_reply(const Reply& reply) noexcept;

}  // namespace connpool::redis::cluster::detail
