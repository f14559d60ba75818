// ClusterUpstream: how the proxy serves its clients from a Redis Cluster
// (docs/proxy.md#redis-cluster-upstream), for clients that know nothing of slots.
//
// - Stateless batches go through a ClusterPipeline (split per node, MOVED/ASK followed, replies
//   in order); multi-key commands spanning slots are split per slot and merged back
//   (cluster_split.hpp).
// - A blocking command takes an exclusive lease of the primary owning its first key's slot.
// - A pinned client (MULTI, WATCH) is pinned to the primary owning the first key it uses: a
//   MULTI with no key yet is answered +OK by the proxy and sent with the first keyed command.
//   Inside MULTI a command on another slot is refused with -CROSSSLOT and the EXEC becomes
//   -EXECABORT, as Redis Cluster does; outside MULTI (WATCH only) it is routed normally.
// - SCAN walks every primary in turn, the cursor naming the node (cluster_scan.hpp).
// Commands that cannot be served by one node (KEYS, DBSIZE, SELECT n, ...) never get here:
// command_rules refuses them when RuleOptions::cluster is set.
//
// Thread safety: one ClusterUpstream serves every client; forward() may run concurrently on
// several strands (the ClusterClient is thread-safe). A ClientRefs belongs to one client.
#pragma once

#include "connpool/proxy/session.hpp"
#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"

#include "metrics.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace connpool::proxy::detail {

/// What a client pinned to a cluster node keeps besides its lease.
struct ClusterPin {
  redis::cluster::NodeAddress node;   ///< the lease's node (meaningful with a lease only)
  std::optional<std::uint16_t> slot;  ///< the one slot the pinned commands may use
  bool multi_deferred = false;        ///< MULTI answered +OK, not sent yet (no key seen)
  bool in_multi = false;              ///< MULTI sent on the lease
  bool aborted = false;               ///< a queued command was refused: EXEC -> EXECABORT
};

/// What the driver lends ClusterUpstream::forward for one action of one client.
struct ClientRefs {
  std::optional<redis::RedisLease>& pinned;
  ClusterPin& pin;
  Session& session;
  Metrics& metrics;
  /// Counts a new exclusive lease against max_pinned; false when over it.
  std::function<bool()> take_pin_slot;
  std::size_t max_pinned = 0;
  /// Watches the client for a hang-up while a blocking command runs on `connection`; the
  /// returned function stops watching (call it before the lease goes).
  std::function<std::function<void()>(redis::Connection&)> watch_hangup;
  /// Set while a blocking command runs (the idle timeout does not apply).
  bool& blocking;
  /// What the client's output can still take: replies beyond it are not gathered (the action
  /// ends with ClusterOutcome::overflow, as Connection::execute_raw's bound does upstream).
  std::size_t room = static_cast<std::size_t>(-1);
};

struct ClusterOutcome {
  std::string bytes;  ///< one RESP reply per command of the action, in order
  bool quit = false;  ///< the pinned connection failed: disconnect the client after `bytes`
  /// The replies came to more than ClientRefs::room: the client is disconnected as a slow
  /// reader (its output bound), `bytes` is empty.
  bool overflow = false;
};

class ClusterUpstream {
 public:
  explicit ClusterUpstream(redis::cluster::ClusterClient client) : client_(std::move(client)) {}

  /// Executes one forward action (session.hpp) and renders its replies.
  boost::asio::awaitable<ClusterOutcome> forward(Action& action, ClientRefs refs);

  [[nodiscard]] redis::cluster::ClusterClient& client() noexcept { return client_; }

  using NodeLease = std::pair<redis::RedisLease, redis::cluster::NodeAddress>;
  /// An exclusive lease on the primary owning `slot` (any primary when none), and its address.
  boost::asio::awaitable<Result<NodeLease>> exclusive(std::optional<std::uint16_t> slot);
  /// An exclusive lease on the node at `address` (a MOVED / ASK target), refreshing the slot
  /// map once when that node is not known yet.
  boost::asio::awaitable<Result<NodeLease>> exclusive_at(redis::cluster::NodeAddress address);

  /// Where a client's Pub/Sub subscriber may connect: every node of the slot map (loaded if
  /// need be; primaries first), then the seeds, starting at a different node for each call so
  /// subscribers spread out. Cluster Pub/Sub reaches every node; the Subscriber moves to the
  /// next endpoint when its node goes away (docs/proxy.md#redis-cluster-upstream).
  boost::asio::awaitable<std::vector<redis::RedisUrl>> pubsub_endpoints();

  /// One step of a SCAN over every primary in turn (cluster_scan.cpp): the node's reply with
  /// the proxy's cursor.
  boost::asio::awaitable<redis::Reply> scan(const std::vector<std::string>& command);

 private:
  /// False when the replies came to more than refs.room (nothing rendered).
  boost::asio::awaitable<bool> shared(Action& action, ClientRefs& refs, std::string& out);
  /// False when the reply came to more than refs.room (nothing rendered).
  boost::asio::awaitable<bool> blocking(Action& action, ClientRefs& refs, std::string& out);
  /// A pinned client's batch (cluster_pinned.cpp); sets `outcome.quit` when the pinned
  /// connection failed, `outcome.overflow` when the replies exceeded refs.room.
  boost::asio::awaitable<void> pinned(Action& action, ClientRefs& refs, ClusterOutcome& outcome);
  redis::cluster::ClusterClient client_;
  std::atomic<std::size_t> next_subscriber_{0};
};

/// The hash slot of the key that routes `command` (the Cluster client's rule), none for a
/// keyless command.
std::optional<std::uint16_t> key_slot(const std::vector<std::string>& command);

/// A MOVED / ASK reply seen on a lease: routing that a pinned client cannot follow itself.
struct LeaseRedirect {
  bool ask = false;
  std::uint16_t slot = 0;
  redis::cluster::NodeAddress target;
};
/// The redirect in `reply` from the node at `from`; none for any other reply.
std::optional<LeaseRedirect> redirect_of(const redis::Reply& reply,
                                         const redis::cluster::NodeAddress& from);
/// What a pinned client gets instead of a redirect (an error reply's text): `code` (TRYAGAIN;
/// EXECABORT for an EXEC) naming the slot and its new node (a non-cluster client cannot follow
/// MOVED; its transaction is void).
std::string redirect_message(const LeaseRedirect& redirect, std::string_view code = "TRYAGAIN");

/// The reply line for a command that could not be sent upstream (and its text alone).
std::string failure_line(const Error& e);
std::string failure_message(const Error& e);
/// The reply line for a pinning command over max_pinned.
std::string max_pinned_line(std::size_t limit);

}  // namespace connpool::proxy::detail
