// ProxyServer: `connpool proxy`, a Redis-protocol sidecar in front of a connpool redis::Client
// (docs/proxy.md). Clients in any language connect over TCP or a Unix socket and speak RESP2;
// their stateless commands travel over the Client's shared, auto-pipelined connections, and
// stateful ones pin the client to an exclusive lease (see session.hpp for the rules).
//
// Thread safety: start(), stop(), endpoints() and stats() are safe from any thread. Each client
// runs on its own strand of the given executor (unless strand_per_client is false, for a
// single-threaded io_context), so a multi-threaded io_context spreads clients over its threads.
//
// Lifetime: the server keeps the Client (a handle) alive. stop() closes the listeners and every
// client connection; pinned leases go back (or are discarded) as the client coroutines finish.
// Destroying the last handle stops it.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/proxy/listen_address.hpp"
#include "connpool/proxy/proxy_stats.hpp"
#include "connpool/proxy/session.hpp"
#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace connpool::proxy {

namespace detail {
class ClusterUpstream;
}

struct ProxyOptions {
  /// Names the proxy in logs, metrics and the admin page. Default "proxy".
  std::string name = "proxy";
  /// Addresses to listen on (at least one), see listen_address.hpp.
  std::vector<ListenAddress> listen;
  /// Per-client limits, authentication and rules.
  SessionOptions session;
  /// Clients connected at once; one more is answered "-ERR max number of clients reached" and
  /// closed. Default 10000; must be > 0.
  std::size_t max_clients = 10000;
  /// Clients pinned to an exclusive lease at once (blocking commands included); over it, the
  /// command that would pin is refused with "-ERR ... (rule: max-pinned)". 0 (default) = the
  /// upstream pool's max_size.
  std::size_t max_pinned = 0;
  /// A client that sends nothing for this long is disconnected (not while subscribed or in a
  /// blocking command). 0 (default) = never.
  std::chrono::milliseconds idle_timeout{0};
  /// Run each client on its own strand. Needed when the executor's io_context runs on several
  /// threads; false saves a dispatch per completion when it runs on one. Default true.
  bool strand_per_client = true;
};

class ProxyServer {
 public:
  /// Binds every listen address (a stale Unix socket file is replaced) and starts accepting.
  /// Errors: invalid_config (no address, a zero limit), connect_failed (cannot bind: the
  /// message names the address).
  static Result<std::shared_ptr<ProxyServer>> start(boost::asio::any_io_executor executor,
                                                    redis::Client upstream, ProxyOptions options);
  /// In front of a Redis Cluster (docs/proxy.md#redis-cluster-upstream): commands routed by
  /// hash slot, multi-key commands split, transactions pinned to one node and one slot, and
  /// commands no single node can serve (KEYS, SCAN, SELECT n, ...) refused. Pub/Sub uses the
  /// first seed node; max_pinned 0 means a node pool's max_size. Errors as above, and those of
  /// creating the seed node's client.
  static Result<std::shared_ptr<ProxyServer>> start(boost::asio::any_io_executor executor,
                                                    redis::cluster::ClusterClient upstream,
                                                    ProxyOptions options);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  /// Stops accepting and disconnects every client. Idempotent.
  void stop();
  /// The bound addresses (a TCP port 0 resolved to the real one).
  [[nodiscard]] std::vector<ListenAddress> endpoints() const;
  [[nodiscard]] ProxyStats stats() const;
  [[nodiscard]] const ProxyOptions& options() const noexcept;
  /// The upstream Client (with a cluster upstream: the seed node's, used for Pub/Sub).
  [[nodiscard]] const redis::Client& upstream() const noexcept;

  struct Impl;

 private:
  explicit ProxyServer(std::shared_ptr<Impl> impl);
  static Result<std::shared_ptr<ProxyServer>> start_with(
      boost::asio::any_io_executor executor, redis::Client upstream, ProxyOptions options,
      std::shared_ptr<detail::ClusterUpstream> cluster);
  std::shared_ptr<Impl> impl_;
};

}  // namespace connpool::proxy
