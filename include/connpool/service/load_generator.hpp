// LoadGenerator: the built-in load of `connpool serve --load N`. N workers per configured pool run
// until shutdown: a GET/SET mix on every Redis pool (Cluster pools too: the keys spread over the
// slots, so every primary gets a share), document gets on every Firestore pool. It
// exists so operators can see the admin page and the dashboards move, or smoke-test a deployment,
// without writing a client; the operator tests use it as the "pool under load".
//
// Errors are counted and logged, never fatal: during an outage the workers keep trying (pausing
// briefly after each failure), so the outage shows as errors and a degraded pool, and the load
// resumes by itself when the backend comes back.
//
// What it touches: Redis keys `connpool:load:<0..keys-1>` (SET with a 60 s TTL, so nothing is
// left behind), Firestore documents `<collection>/key-<0..keys-1>` (read only; they need not
// exist).
//
// Thread safety: start() once; the rest may be called from any thread. Workers hold their own
// client handles and counters, so they may outlive the Runtime's vectors safely, but call
// request_stop() before draining the pools.
#pragma once

#include "connpool/service/runtime.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace connpool::service {

struct LoadOptions {
  /// Concurrent workers per pool; 0 (default): no load.
  int concurrency = 0;
  /// Operations per second per pool, shared by its workers; 0: as fast as the pool serves them.
  double rate = 100;
  /// Number of distinct Redis keys / Firestore document ids; >= 1.
  int keys = 1000;
  /// Firestore collection the document gets read.
  std::string collection = "connpool_load";
  /// How often a progress line per pool is logged; 0: never.
  std::chrono::milliseconds report_interval{10'000};
  /// Where progress and error lines go.
  std::function<void(core::LogLevel, std::string_view)> logger;
};

class LoadGenerator {
 public:
  /// Starts the workers on `executor` for every pool of `runtime` (one strand each).
  static std::shared_ptr<LoadGenerator> start(Runtime& runtime,
                                              boost::asio::any_io_executor executor,
                                              LoadOptions options);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  /// Workers finish their current operation and end.
  void request_stop() noexcept;
  /// Waits until every worker has ended, at most `deadline`; true when they all did.
  boost::asio::awaitable<bool> wait_stopped(std::chrono::milliseconds deadline);
  /// "load on 'cache': 1234 ops, 0 errors; ..." for the final log line.
  [[nodiscard]] std::string summary() const;

  struct State;

 private:
  LoadGenerator() = default;
  std::shared_ptr<State> state_;
};

}  // namespace connpool::service
