// `connpool bench redis`: C concurrent callers doing SET then GET on random keys for S seconds,
// through the pooled client (auto-pipelining on or off) or with a new connection per operation
// (--no-pool, the seed's "validation tests" baseline). Prints ops/s, latency percentiles and
// errors; --json prints one JSON object per mode.
#include <sys/resource.h>

// GCC 12 reports a false -Wmismatched-new-delete when it inlines a coroutine's ramp function
// (the frame is allocated by awaitable_frame_base::operator new and freed by its matching
// operator delete; GCC pairs the delete with the global new). Known GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "connpool/redis/client.hpp"
#if CONNPOOL_HAVE_monitor
#include "connpool/monitor/metrics_registry.hpp"
#endif

#include "commands.hpp"
#include "support_bench.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace connpool::cli {

namespace {

namespace asio = boost::asio;
using redis::Client;
using redis::Connection;
using redis::RedisUrl;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  bool metrics = false;  // attach the Prometheus observer (to measure its cost)
  std::string url = "redis://127.0.0.1:6379";
  int concurrency = 50;
  double duration_s = 10;
  std::string pipeline_auto = "on";
  bool no_pool = false;
  std::size_t value_size = 64;
  std::size_t keyspace = 10000;
  int threads = 1;
  std::size_t pool_size = 0;  // 0: the URL's max_size, raised to --concurrency for "pool"
  bool json = false;
};

struct Totals {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<bool> stop{false};
};

struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;
  std::string first_error;
};

std::uint32_t micros_since(Clock::time_point start) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// One caller through the pooled client: SET then GET on a random key, until told to stop.
asio::awaitable<WorkerResult> pooled_worker(Client client, Totals& totals, std::string value,
                                            std::size_t keyspace, unsigned seed) {
  WorkerResult out;
  out.latencies_us.reserve(1 << 16);
  std::minstd_rand rng(seed);
  std::string key;
  while (!totals.stop.load(std::memory_order_relaxed)) {
    key = "bench:key:" + std::to_string(rng() % keyspace);
    auto start = Clock::now();
    auto set = co_await client.set(key, value);
    out.latencies_us.push_back(micros_since(start));
    start = Clock::now();
    auto get = co_await client.get(key);
    out.latencies_us.push_back(micros_since(start));
    for (const Error* e : {set ? nullptr : &set.error(), get ? nullptr : &get.error()}) {
      if (e == nullptr) continue;
      totals.errors.fetch_add(1, std::memory_order_relaxed);
      if (out.first_error.empty()) out.first_error = e->to_string();
    }
    totals.ops.fetch_add(2, std::memory_order_relaxed);
  }
  co_return out;
}

// One caller opening a fresh connection for every operation (no pool).
asio::awaitable<WorkerResult> unpooled_worker(RedisUrl url, Totals& totals, std::string value,
                                              std::size_t keyspace, unsigned seed) {
  WorkerResult out;
  std::minstd_rand rng(seed);
  auto executor = co_await asio::this_coro::executor;
  while (!totals.stop.load(std::memory_order_relaxed)) {
    const std::string key = "bench:key:" + std::to_string(rng() % keyspace);
    for (int op = 0; op < 2; ++op) {
      const auto start = Clock::now();
      auto conn = co_await Connection::connect(executor, url);
      Result<redis::Reply> reply =
          conn ? Result<redis::Reply>(redis::Reply::nil()) : Result<redis::Reply>(conn.error());
      if (conn) {
        std::vector<std::string_view> set{"SET", key, value};
        std::vector<std::string_view> get{"GET", key};
        reply = co_await (*conn)->execute(op == 0 ? set : get);
      }
      out.latencies_us.push_back(micros_since(start));
      if (!reply) {
        totals.errors.fetch_add(1, std::memory_order_relaxed);
        if (out.first_error.empty()) out.first_error = reply.error().to_string();
      }
      totals.ops.fetch_add(1, std::memory_order_relaxed);
    }
  }
  co_return out;
}

int run_mode(const BenchOptions& o, const RedisUrl& base_url, bool no_pool, bool auto_pipeline) {
  std::string mode = no_pool ? "no-pool" : (auto_pipeline ? "pool-auto-pipeline" : "pool");
  if (o.metrics && !no_pool) mode += "+metrics";
  RedisUrl url = base_url;
  url.pipeline_auto = auto_pipeline;
  if (o.pool_size > 0) {
    url.pool.max_size = o.pool_size;
    url.pool.min_size = std::min(url.pool.min_size, o.pool_size);
  } else if (!auto_pipeline) {
    // Exclusive leases: one connection per concurrent caller, as redis-benchmark -c C opens C.
    url.pool.max_size = std::max(url.pool.max_size, static_cast<std::size_t>(o.concurrency));
  }

  asio::io_context io(o.threads);
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) threads.emplace_back([&io] { io.run(); });
  auto finish = [&] {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  };

  std::optional<Client> client;
  if (!no_pool) {
    core::PoolOptions pool_options;
#if CONNPOOL_HAVE_monitor
    std::shared_ptr<monitor::MetricsRegistry> metrics;
    if (o.metrics) {
      metrics = std::make_shared<monitor::MetricsRegistry>();
      pool_options.observer = metrics->make_observer("bench", "redis");
    }
#endif
    auto created = Client::create(io.get_executor(), url, pool_options);
    if (!created) {
      std::fprintf(stderr, "connpool bench redis: %s\n", created.error().to_string().c_str());
      finish();
      return kExitConfigError;
    }
    client.emplace(std::move(*created));
    // One round trip first, so the measurement starts with a connected pool.
    if (auto ping = client->wait(client->ping()); !ping) {
      std::fprintf(stderr, "connpool bench redis: %s: %s\n", url.redacted().c_str(),
                   ping.error().to_string().c_str());
      client.reset();
      finish();
      return kExitFailure;
    }
  }

  const std::string value(o.value_size, 'v');
  Totals totals;
  const double cpu_start = cpu_seconds();
  const auto started = Clock::now();
  std::vector<std::future<WorkerResult>> workers;
  for (int i = 0; i < o.concurrency; ++i) {
    const unsigned seed = static_cast<unsigned>(i) * 7919u + 1u;
    if (no_pool) {
      workers.push_back(asio::co_spawn(io, unpooled_worker(url, totals, value, o.keyspace, seed),
                                       asio::use_future));
    } else {
      workers.push_back(asio::co_spawn(io, pooled_worker(*client, totals, value, o.keyspace, seed),
                                       asio::use_future));
    }
  }

  const auto duration = std::chrono::duration<double>(o.duration_s);
  std::uint64_t last_ops = 0;
  auto last_tick = started;
  while (Clock::now() - started < duration) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = Clock::now();
    if (!o.json && now - last_tick >= std::chrono::seconds(1)) {
      const std::uint64_t ops = totals.ops.load();
      const double secs = std::chrono::duration<double>(now - last_tick).count();
      std::fprintf(stderr,
                   "\r[redis %s] %.0fs/%.0fs  ops=%" PRIu64 "  %.0f ops/s  errors=%" PRIu64 "   ",
                   mode.c_str(), std::chrono::duration<double>(now - started).count(), o.duration_s,
                   ops, static_cast<double>(ops - last_ops) / secs, totals.errors.load());
      std::fflush(stderr);
      last_ops = ops;
      last_tick = now;
    }
  }
  totals.stop = true;
  std::vector<std::uint32_t> latencies;
  std::string first_error;
  for (auto& f : workers) {
    auto r = f.get();
    latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
    if (first_error.empty()) first_error = r.first_error;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const double cpu = cpu_seconds() - cpu_start;
  std::size_t connections = 0;
  if (client) connections = client->pool().stats().created;
  client.reset();
  finish();

  const std::uint64_t ops = totals.ops.load();
  const std::uint64_t errors = totals.errors.load();
  const double ops_per_sec = elapsed > 0 ? static_cast<double>(ops) / elapsed : 0;
  const auto p50 = percentile(latencies, 0.50);
  const auto p99 = percentile(latencies, 0.99);
  const auto p999 = percentile(latencies, 0.999);
  const double cpu_us_per_op = ops > 0 ? cpu * 1e6 / static_cast<double>(ops) : 0;
  if (o.json) {
    std::printf(
        "{\"backend\":\"redis\",\"mode\":\"%s\",\"concurrency\":%d,\"duration_s\":%.3f,"
        "\"ops\":%" PRIu64
        ",\"ops_per_sec\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"p999_us\":%u,"
        "\"errors\":%" PRIu64
        ",\"value_size\":%zu,\"pipeline_auto\":%s,\"threads\":%d,"
        "\"pool_max_size\":%zu,\"connections_opened\":%zu,\"client_cpu_us_per_op\":%.2f}\n",
        mode.c_str(), o.concurrency, elapsed, ops, ops_per_sec, p50, p99, p999, errors,
        o.value_size, (!no_pool && auto_pipeline) ? "true" : "false", o.threads,
        no_pool ? std::size_t{0} : url.pool.max_size, connections, cpu_us_per_op);
  } else {
    std::fprintf(stderr, "\n");
    std::printf(
        "redis %s  url=%s  concurrency=%d  duration=%.1fs  value=%zuB  pool_max_size=%zu\n"
        "  ops=%" PRIu64 "  ops/s=%.0f  p50=%uus  p99=%uus  p999=%uus  errors=%" PRIu64
        "  client_cpu=%.2fus/op\n",
        mode.c_str(), url.redacted().c_str(), o.concurrency, elapsed, o.value_size,
        no_pool ? std::size_t{0} : url.pool.max_size, ops, ops_per_sec, p50, p99, p999, errors,
        cpu_us_per_op);
  }
  if (errors > 0 && !first_error.empty()) {
    std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  }
  std::fflush(stdout);
  return (ops == 0 || errors > 0) ? kExitFailure : kExitOk;
}

}  // namespace

void add_bench_redis(CLI::App& bench, int& exit_code) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "redis", "SET+GET on random keys from many concurrent callers against a Redis server");
  cmd->add_option("--url", opts->url, "Redis URL (redis://, rediss://, unix://)")
      ->capture_default_str();
  cmd->add_option("--concurrency,-c", opts->concurrency, "concurrent callers")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--duration,-d", opts->duration_s, "seconds to run")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  cmd->add_option("--pipeline-auto", opts->pipeline_auto,
                  "auto-pipelining through shared leases: on, off, or both (one run each)")
      ->check(CLI::IsMember({"on", "off", "both"}))
      ->capture_default_str();
  cmd->add_flag("--no-pool", opts->no_pool, "open a new connection for every operation");
  cmd->add_option("--value-size", opts->value_size, "bytes per value")
      ->check(CLI::Range(std::size_t{0}, std::size_t{512} << 20))
      ->capture_default_str();
  cmd->add_option("--keyspace", opts->keyspace, "number of distinct keys")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "client io threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--pool-size", opts->pool_size,
                  "pool max_size (default: the URL's; at least --concurrency when "
                  "--pipeline-auto off)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
  cmd->add_flag("--json", opts->json, "print one JSON object per mode");
#if CONNPOOL_HAVE_monitor
  cmd->add_flag("--metrics", opts->metrics,
                "attach the Prometheus observer to the pools (to measure its cost)");
#endif
  cmd->callback([opts, &exit_code] {
    auto url = RedisUrl::parse(opts->url);
    if (!url) {
      std::fprintf(stderr, "connpool bench redis: %s\n", url.error().to_string().c_str());
      exit_code = kExitConfigError;
      return;
    }
    int rc = kExitOk;
    if (opts->no_pool) {
      rc = run_mode(*opts, *url, true, false);
    } else {
      if (opts->pipeline_auto != "off") rc = std::max(rc, run_mode(*opts, *url, false, true));
      if (opts->pipeline_auto != "on") rc = std::max(rc, run_mode(*opts, *url, false, false));
    }
    exit_code = rc;
  });
}

}  // namespace connpool::cli
