// The clients a connpool user would otherwise pick, as `connpool bench redis --baseline` modes.
// Both use plain blocking hiredis (the library redis-plus-plus is built on), one OS thread per
// concurrent caller, and run the same workload as the connpool modes (bench_workload.hpp):
//   hiredis-threads  each caller thread owns one blocking redisContext (raw hiredis at
//                    concurrency C: C connections);
//   hiredis-pool     the callers share P blocking connections in a std::mutex +
//                    std::condition_variable pool, one connection borrowed per command (the
//                    redis-plus-plus ConnectionPool design; redis-plus-plus is not packaged in
//                    Debian 12 and nothing may be downloaded here).
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/url.hpp"

#include "bench/bench_workload.hpp"

#include <cstddef>
#include <future>
#include <memory>
#include <string_view>

namespace connpool::cli {

enum class BaselineKind { hiredis_threads, hiredis_pool };

/// "hiredis-threads" / "hiredis-pool": the mode name in reports and on the command line.
std::string_view baseline_name(BaselineKind kind) noexcept;

/// One baseline run. Thread safety: spawn() from one thread; the workers it starts run on their
/// own threads until `totals.stop`. Destroying it closes every connection (workers must be done).
class HiredisBaseline {
 public:
  struct Options {
    BaselineKind kind = BaselineKind::hiredis_threads;
    redis::RedisUrl url;        // redis:// or unix:// (hiredis 0.14 has no TLS)
    std::size_t pool_size = 1;  // hiredis-pool: connections shared by the callers
    std::size_t keyspace = 10000;
    std::size_t value_size = 64;
    int concurrency = 1;
  };

  /// Checks the URL (errc::invalid_argument for TLS) and, for hiredis-pool, opens one pooled
  /// connection and PINGs it, so the run starts against a reachable server (as the connpool modes
  /// do). Connection errors name the endpoint, never the password.
  static Result<std::unique_ptr<HiredisBaseline>> create(Options options);
  ~HiredisBaseline();
  HiredisBaseline(const HiredisBaseline&) = delete;
  HiredisBaseline& operator=(const HiredisBaseline&) = delete;

  /// Starts caller `worker` (0..concurrency-1) on its own thread.
  std::future<WorkerResult> spawn(int worker, Totals& totals);
  /// Connections opened so far (including reconnects after errors).
  [[nodiscard]] std::size_t connections_opened() const noexcept;

  struct State;  // defined in the .cpp

 private:
  explicit HiredisBaseline(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace connpool::cli
