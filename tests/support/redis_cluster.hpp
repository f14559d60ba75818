// RedisCluster: starts a private Redis Cluster (3 primaries + 3 replicas by default) for
// integration tests and always stops it.
//
// Each node is a redis-server with `cluster-enabled yes` in its own temp directory, on a free
// loopback port whose cluster bus port (port + 10000) is also free. The cluster is formed with
// `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`, and start() returns once
// every node reports cluster_state:ok, all nodes agree on the slots and every replica's link is
// up. The destructor kills every process (SIGTERM, then SIGKILL) and removes the directories.
// Children also die with the test process (PR_SET_PDEATHSIG). Start one per test binary: it
// takes a few seconds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace connpool::test {

struct RedisClusterOptions {
  int primaries = 3;
  int replicas_per_primary = 1;
  /// cluster-node-timeout: how long until a silent node is considered failing.
  int node_timeout_ms = 2000;
  std::vector<std::string> extra_config;  ///< raw config lines for every node
};

class RedisCluster {
 public:
  /// Null (with a message in `error`) when the cluster cannot be formed.
  static std::unique_ptr<RedisCluster> start(RedisClusterOptions options, std::string* error);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  /// Every node's port, in creation order.
  [[nodiscard]] std::vector<std::uint16_t> ports() const;
  /// redis-cluster://127.0.0.1:p1,127.0.0.1:p2/?query (the first two nodes as seeds).
  [[nodiscard]] std::string url(const std::string& query = "") const;

  /// Runs `redis-cli -p port <args>` (args are passed through the shell) and returns its
  /// output with the trailing newline removed.
  [[nodiscard]] std::string cli(std::uint16_t port, const std::string& args) const;
  /// Ports of the current primaries that own slots, from a running node's CLUSTER NODES.
  [[nodiscard]] std::vector<std::uint16_t> primaries() const;
  /// A running replica of `primary`, if any.
  [[nodiscard]] std::optional<std::uint16_t> replica_of(std::uint16_t primary) const;
  [[nodiscard]] std::string node_id(std::uint16_t port) const;
  /// The primary serving `slot`, from CLUSTER SLOTS.
  [[nodiscard]] std::optional<std::uint16_t> owner_of_slot(int slot) const;

  /// SIGKILL, no goodbye (a crashed node).
  void kill(std::uint16_t port);
  /// Starts a killed node again with its nodes.conf (it rejoins the cluster).
  bool restart(std::uint16_t port, std::string* error);
  [[nodiscard]] bool running(std::uint16_t port) const;

  /// Waits until every running node reports cluster_state:ok with all slots served, all
  /// agree on the slot owners, and every running replica's link is up.
  bool wait_healthy(std::chrono::milliseconds timeout, std::string* error) const;

 private:
  struct Node {
    std::uint16_t port = 0;
    std::string dir;
    pid_t pid = -1;
  };
  RedisCluster() = default;
  bool launch(Node& node, std::string* error);
  void stop(Node& node);
  Node* find(std::uint16_t port);
  [[nodiscard]] const Node* find(std::uint16_t port) const;
  /// The last `lines` lines of a node's redis.log (for failure messages).
  [[nodiscard]] std::string log_tail(const Node& node, std::size_t lines) const;

  RedisClusterOptions options_;
  std::string root_;
  std::vector<Node> nodes_;
};

}  // namespace connpool::test
