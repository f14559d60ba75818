// ServeProcess: the "connpool serve" the operator tests run against: a separate process running
// one pool under load plus the admin server, on a free loopback port, always stopped.
//
// Today the process is operator_test_server (this directory). Switching the tests to the real
// `connpool serve` touches only serve_command() in serve_process.cpp (and the CMake definition
// that names the binary): the tests use the admin URL, the pool name and begin_outage().
#pragma once

#include "child_process.hpp"
#include "support/redis_server.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace connpool::test {

struct ServeOptions {
  enum class Backend {
    redis,  ///< a private redis-server (tests/support); an outage stops it
    fake,   ///< operator_test_server's in-process fake connector; an outage is SIGUSR1
  };
  Backend backend = Backend::redis;
  /// Bearer token for /api/* (empty: none).
  std::string token;
  std::string pool = "cache";
};

class ServeProcess {
 public:
  /// Starts the backend and the serve process, and waits (bounded) until /healthz answers and the
  /// pool is listed by the admin API. Null with `error` on failure (the log is in the message).
  static std::unique_ptr<ServeProcess> start(ServeOptions options, std::string* error);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] std::uint16_t admin_port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT"
  [[nodiscard]] std::string admin_url() const;
  [[nodiscard]] const ServeOptions& options() const noexcept { return options_; }
  [[nodiscard]] ChildProcess& process() noexcept { return *process_; }
  /// Null for the fake backend.
  [[nodiscard]] RedisServer* redis() noexcept { return redis_.get(); }

  /// The backend goes away: redis-server is stopped, or the fake connector starts failing.
  void begin_outage();
  /// The backend comes back (same port).
  bool end_outage(std::string* error);

  /// How a separate program (the Node script) can cause the same outage, as environment
  /// variables: OUTAGE_KIND=redis-shutdown with OUTAGE_PORT, or OUTAGE_KIND=signal with
  /// OUTAGE_PID and OUTAGE_SIGNAL.
  [[nodiscard]] std::map<std::string, std::string> outage_env() const;

 private:
  ServeProcess() = default;

  ServeOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
};

/// The argv that runs the serve process: the one line to change for `connpool serve`.
std::vector<std::string> serve_command(const ServeOptions& options, std::uint16_t admin_port,
                                       const std::string& redis_url);

}  // namespace connpool::test
