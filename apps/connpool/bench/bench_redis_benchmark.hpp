// `redis-benchmark` (the server's own C client) as one client of `connpool bench redis --sweep`:
// run with the same callers (-c), value size (-d) and keyspace (-r) as the connpool modes,
// -t set,get, and its CPU time taken from wait4.
#pragma once

#include "connpool/redis/url.hpp"

#include "bench/bench_compare.hpp"

#include <cstddef>
#include <cstdint>

namespace connpool::cli {

struct RedisBenchmarkArgs {
  redis::RedisUrl url;  // host:port or unix socket; a password is passed with -a
  int clients = 1;
  std::size_t value_size = 16;
  std::size_t keyspace = 10000;
  int pipeline = 1;               // -P
  std::uint64_t requests = 1000;  // -n, per command (SET and GET each)
};

/// Runs redis-benchmark once. ops_per_sec is the combined SET+GET rate (2n over the sum of the
/// two tests' times); p50/p99 are the larger of the two tests' (it reports them per command,
/// in milliseconds); cpu_us_per_op is its CPU over 2n. redis-benchmark checks no reply, so
/// `verified` stays 0. On failure exit_code is non-zero and `error` says why.
RunReport run_redis_benchmark(const RedisBenchmarkArgs& args);

/// "redis-benchmark" or "redis-benchmark-P<n>": the client name in sweep reports.
std::string redis_benchmark_name(int pipeline);

}  // namespace connpool::cli
