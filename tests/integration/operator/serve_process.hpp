// ServeProcess: the real `connpool serve --load ...` the operator tests run against: a private
// redis-server (tests/support) and a separate serve process whose built-in load generator keeps
// one Redis pool under load (and optionally a Redis Cluster pool, on a cluster the test binary
// started), with its admin server on a free loopback port; both processes always stopped.
#pragma once

#include "child_process.hpp"
#include "support/redis_server.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace connpool::test {

struct ServeOptions {
  /// Bearer token for /api/* (empty: none). Passed as CONNPOOL_ADMIN_TOKEN, never in argv.
  std::string token;
  std::string pool = "cache";
  /// `--load` workers and `--load-rate` (operations per second for the pool).
  int load = 4;
  int load_rate = 200;
  /// A second pool on a Redis Cluster (`redis-cluster://...`; empty: none), with the same policy
  /// and load. Its node pools are named "<cluster_pool>@host:port" and labelled node="host:port".
  std::string cluster_url;
  std::string cluster_pool = "shards";
  /// start() also waits until this many node pools of the cluster pool are listed and ready.
  std::size_t cluster_nodes = 0;
  /// A `proxies:` entry forwarding to `pool`, listening on 127.0.0.1:proxy_port (0: none).
  std::uint16_t proxy_port = 0;
  std::string proxy = "sidecar";
};

class ServeProcess {
 public:
  /// Starts redis-server and `connpool serve`, and waits (bounded) until /healthz answers and the
  /// pool is listed by the admin API and ready. Null with `error` on failure (the log is in it).
  static std::unique_ptr<ServeProcess> start(ServeOptions options, std::string* error);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] std::uint16_t admin_port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT"
  [[nodiscard]] std::string admin_url() const;
  [[nodiscard]] const ServeOptions& options() const noexcept { return options_; }
  [[nodiscard]] ChildProcess& process() noexcept { return *process_; }
  [[nodiscard]] RedisServer& redis() noexcept { return *redis_; }

  /// The backend goes away: redis-server is stopped.
  void begin_outage();
  /// The backend comes back (same port).
  bool end_outage(std::string* error);

  /// How a separate program (the Node script) can cause the same outage, as environment
  /// variables: OUTAGE_KIND=redis-shutdown with OUTAGE_PORT.
  [[nodiscard]] std::map<std::string, std::string> outage_env() const;

 private:
  ServeProcess() = default;

  ServeOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
};

/// The configuration file the serve process reads: one Redis pool (two with `cluster_url`, and
/// a proxy in front of the first with `proxy_port`) with
/// short health-check and backoff intervals (so an outage shows within seconds) and the admin
/// server on `admin_port`.
std::string serve_config(const ServeOptions& options, std::uint16_t admin_port,
                         const std::string& redis_url);
/// The argv that runs `connpool serve` with that file and the load generator.
std::vector<std::string> serve_command(const ServeOptions& options, const std::string& config_path);

}  // namespace connpool::test
