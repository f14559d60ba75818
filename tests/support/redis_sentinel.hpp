// RedisSentinelCluster: one master, one replica (optionally a second one that is never
// promoted) and three Sentinels for integration tests. A failover always promotes the first
// replica (data_ports()[1] at start): tests can tell in advance which node becomes master.
//
// Everything listens on free loopback ports; config files live in a writable temp directory
// (Sentinels and failovers rewrite them). down-after-milliseconds and failover-timeout are
// short, so an automatic failover takes a few seconds. start() returns once the replica is in
// sync and every Sentinel knows the replica and the two other Sentinels. The destructor kills
// every process (SIGKILL) and removes the directory. Queries use redis-cli.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace connpool::test {

struct RedisSentinelOptions {
  std::string master_name = "mymaster";
  int down_after_ms = 1000;
  int failover_timeout_ms = 3000;
  /// A second replica with replica-priority 0 (data_ports()[2]), e.g. for replica clients
  /// that must keep a replica during a failover.
  bool never_promoted_replica = false;
};

class RedisSentinelCluster {
 public:
  /// Null (with a message in `error`) when it cannot start.
  static std::unique_ptr<RedisSentinelCluster> start(RedisSentinelOptions options,
                                                     std::string* error);
  ~RedisSentinelCluster();
  RedisSentinelCluster(const RedisSentinelCluster&) = delete;
  RedisSentinelCluster& operator=(const RedisSentinelCluster&) = delete;

  /// redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<master>[?query]
  [[nodiscard]] std::string url(const std::string& query = "") const;
  [[nodiscard]] const std::vector<std::uint16_t>& sentinel_ports() const { return sentinels_; }
  /// The data nodes: initially the master, the replica a failover promotes, and (with
  /// never_promoted_replica) a replica with replica-priority 0.
  [[nodiscard]] const std::vector<std::uint16_t>& data_ports() const { return data_; }
  [[nodiscard]] const std::string& master_name() const { return options_.master_name; }

  /// The master port according to the first Sentinel that answers; 0 if none does.
  std::uint16_t master_port() const;
  /// Polls until every reachable Sentinel names a master other than `old_port`, that node
  /// says ROLE master, and some other node replicates from it (when `with_replica`). Returns
  /// the new port or 0 on timeout.
  std::uint16_t wait_for_new_master(std::uint16_t old_port, std::chrono::milliseconds limit,
                                    bool with_replica) const;
  /// Waits until the node on `port` is a replica with its link up.
  bool wait_replica_synced(std::uint16_t port, std::chrono::milliseconds limit) const;
  /// What the Sentinel on `sentinel` reports about the replica on `port` (SENTINEL REPLICAS:
  /// "flags", "master-link-status", ...); empty when it does not list it.
  std::map<std::string, std::string> replica_info(std::uint16_t sentinel, std::uint16_t port) const;
  /// Waits until every Sentinel reports the replica on `port` healthy (no s_down, o_down or
  /// disconnected flag, master-link-status ok), as a role=replica client requires.
  bool wait_replica_healthy(std::uint16_t port, std::chrono::milliseconds limit) const;

  /// `redis-cli -p port args...` (args are passed as separate words); its stdout.
  std::string cli(std::uint16_t port, const std::string& args) const;

  /// SIGKILLs the data node on `port`.
  void kill_node(std::uint16_t port);
  /// Starts it again with its (possibly rewritten) config; false if it does not come up.
  bool restart_node(std::uint16_t port, std::string* error);

 private:
  RedisSentinelCluster() = default;
  bool launch(std::size_t index, std::string* error);  // data nodes, then the 3 sentinels
  bool wait_ready(std::string* error);

  RedisSentinelOptions options_;
  std::string dir_;
  std::vector<std::uint16_t> data_;
  std::vector<std::uint16_t> sentinels_;
  std::vector<pid_t> pids_;  // data nodes, then sentinels
};

}  // namespace connpool::test
