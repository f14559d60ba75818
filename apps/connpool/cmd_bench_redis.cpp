// `connpool bench redis`: C concurrent callers doing SET then GET on random keys for S seconds,
// through the pooled client (auto-pipelining on or off) or with a new connection per operation
// (--no-pool, the seed's "validation tests" baseline). Prints ops/s, latency percentiles and
// errors; --json prints one JSON object per mode. A redis-cluster:// URL runs the same load
// through cluster::ClusterClient (one pool per node; modes "cluster-auto-pipeline", "cluster").
#include <sys/resource.h>

// GCC 12 reports a false -Wmismatched-new-delete when it inlines a coroutine's ramp function
// (the frame is allocated by awaitable_frame_base::operator new and freed by its matching
// operator delete; GCC pairs the delete with the global new). Known GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"
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
#include <functional>
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

// One caller through a pooled client (redis::Client or cluster::ClusterClient): SET then GET
// on a random key, until told to stop.
template <class PooledClient>
asio::awaitable<WorkerResult> pooled_worker(PooledClient client, Totals& totals, std::string value,
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

// What a run measured against, for the report.
struct Target {
  std::string mode;
  std::string url;           // redacted
  std::size_t pool_max = 0;  // per node for a cluster; 0 for no-pool
  bool auto_pipeline = false;
};

using Spawn = std::function<std::future<WorkerResult>(unsigned seed, const std::string& value,
                                                      Totals& totals)>;

// Runs o.concurrency workers from `spawn` for o.duration_s with a progress line, then prints
// the result. `connections` (called once the workers stopped, before `finish`) counts the
// connections the pools opened; `finish` releases the clients and stops the io threads.
int drive(const BenchOptions& o, const Target& target, const Spawn& spawn,
          const std::function<std::size_t()>& connections, const std::function<void()>& finish) {
  const std::string value(o.value_size, 'v');
  Totals totals;
  const double cpu_start = cpu_seconds();
  const auto started = Clock::now();
  std::vector<std::future<WorkerResult>> workers;
  for (int i = 0; i < o.concurrency; ++i) {
    workers.push_back(spawn(static_cast<unsigned>(i) * 7919u + 1u, value, totals));
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
      std::fprintf(
          stderr, "\r[redis %s] %.0fs/%.0fs  ops=%" PRIu64 "  %.0f ops/s  errors=%" PRIu64 "   ",
          target.mode.c_str(), std::chrono::duration<double>(now - started).count(), o.duration_s,
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
  const std::size_t opened = connections();
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
        target.mode.c_str(), o.concurrency, elapsed, ops, ops_per_sec, p50, p99, p999, errors,
        o.value_size, target.auto_pipeline ? "true" : "false", o.threads, target.pool_max, opened,
        cpu_us_per_op);
  } else {
    std::fprintf(stderr, "\n");
    std::printf(
        "redis %s  url=%s  concurrency=%d  duration=%.1fs  value=%zuB  pool_max_size=%zu\n"
        "  ops=%" PRIu64 "  ops/s=%.0f  p50=%uus  p99=%uus  p999=%uus  errors=%" PRIu64
        "  client_cpu=%.2fus/op\n",
        target.mode.c_str(), target.url.c_str(), o.concurrency, elapsed, o.value_size,
        target.pool_max, ops, ops_per_sec, p50, p99, p999, errors, cpu_us_per_op);
  }
  if (errors > 0 && !first_error.empty()) {
    std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  }
  std::fflush(stdout);
  return (ops == 0 || errors > 0) ? kExitFailure : kExitOk;
}

// Pool sizes as the flags ask: --pool-size, or one connection per caller for exclusive leases
// (as redis-benchmark -c C opens C).
void size_pool(const BenchOptions& o, core::PoolConfig& pool, bool auto_pipeline) {
  if (o.pool_size > 0) {
    pool.max_size = o.pool_size;
    pool.min_size = std::min(pool.min_size, o.pool_size);
  } else if (!auto_pipeline) {
    pool.max_size = std::max(pool.max_size, static_cast<std::size_t>(o.concurrency));
  }
}

// The io_context and its threads for one run.
struct IoRunner {
  explicit IoRunner(int threads) : io(threads), work(asio::make_work_guard(io)) {
    for (int i = 0; i < threads; ++i) pool.emplace_back([this] { io.run(); });
  }
  void finish() {
    work.reset();
    io.stop();
    for (auto& t : pool) t.join();
    pool.clear();
  }
  ~IoRunner() { finish(); }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::thread> pool;
};

int run_mode(const BenchOptions& o, const RedisUrl& base_url, bool no_pool, bool auto_pipeline) {
  Target target;
  target.mode = no_pool ? "no-pool" : (auto_pipeline ? "pool-auto-pipeline" : "pool");
  if (o.metrics && !no_pool) target.mode += "+metrics";
  target.auto_pipeline = !no_pool && auto_pipeline;
  RedisUrl url = base_url;
  url.pipeline_auto = auto_pipeline;
  size_pool(o, url.pool, auto_pipeline);
  target.url = url.redacted();
  target.pool_max = no_pool ? 0 : url.pool.max_size;

  IoRunner runner(o.threads);
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
    auto created = Client::create(runner.io.get_executor(), url, pool_options);
    if (!created) {
      std::fprintf(stderr, "connpool bench redis: %s\n", created.error().to_string().c_str());
      return kExitConfigError;
    }
    client.emplace(std::move(*created));
    // One round trip first, so the measurement starts with a connected pool.
    if (auto ping = client->wait(client->ping()); !ping) {
      std::fprintf(stderr, "connpool bench redis: %s: %s\n", url.redacted().c_str(),
                   ping.error().to_string().c_str());
      client.reset();
      return kExitFailure;
    }
  }
  const Spawn spawn = [&](unsigned seed, const std::string& value, Totals& totals) {
    if (no_pool) {
      return asio::co_spawn(runner.io, unpooled_worker(url, totals, value, o.keyspace, seed),
                            asio::use_future);
    }
    return asio::co_spawn(runner.io, pooled_worker(*client, totals, value, o.keyspace, seed),
                          asio::use_future);
  };
  return drive(
      o, target, spawn, [&] { return client ? client->pool().stats().created : std::size_t{0}; },
      [&] {
        client.reset();
        runner.finish();
      });
}

// The same load through a ClusterClient: keys spread over every slot, so over every primary.
int run_cluster_mode(const BenchOptions& o, const redis::cluster::ClusterUrl& base_url,
                     bool auto_pipeline) {
  using redis::cluster::ClusterClient;
  Target target;
  target.mode = auto_pipeline ? "cluster-auto-pipeline" : "cluster";
  if (o.metrics) target.mode += "+metrics";
  target.auto_pipeline = auto_pipeline;
  redis::cluster::ClusterUrl url = base_url;
  url.node.pipeline_auto = auto_pipeline;
  size_pool(o, url.node.pool, auto_pipeline);
  target.url = url.redacted();
  target.pool_max = url.node.pool.max_size;

  IoRunner runner(o.threads);
  redis::cluster::NodeHooks hooks;
#if CONNPOOL_HAVE_monitor
  std::shared_ptr<monitor::MetricsRegistry> metrics;
  if (o.metrics) {
    // One observer per node pool, labelled with the node's pool name.
    metrics = std::make_shared<monitor::MetricsRegistry>();
    hooks.configure_pool = [metrics](const redis::cluster::NodeAddress&,
                                     core::PoolOptions& options) {
      options.observer = metrics->make_observer(options.name, "redis");
    };
  }
#endif
  core::PoolOptions pool_options;
  pool_options.name = "bench";
  auto created = ClusterClient::create(runner.io.get_executor(), url, pool_options, hooks);
  if (!created) {
    std::fprintf(stderr, "connpool bench redis: %s\n", created.error().to_string().c_str());
    return kExitConfigError;
  }
  std::optional<ClusterClient> client(std::move(*created));
  // Loads the slot map and reaches every primary before the clock starts.
  if (auto ping = client->wait(client->ping()); !ping) {
    std::fprintf(stderr, "connpool bench redis: %s: %s\n", url.redacted().c_str(),
                 ping.error().to_string().c_str());
    client.reset();
    return kExitFailure;
  }
  const Spawn spawn = [&](unsigned seed, const std::string& value, Totals& totals) {
    return asio::co_spawn(runner.io, pooled_worker(*client, totals, value, o.keyspace, seed),
                          asio::use_future);
  };
  auto connections = [&] {
    std::size_t opened = 0;
    for (const auto& node : client->nodes()) opened += node.client.pool().stats().created;
    return opened;
  };
  return drive(o, target, spawn, connections, [&] {
    client->close_now();
    client.reset();
    runner.finish();
  });
}

bool is_cluster_url(std::string_view url) {
  return url.starts_with("redis-cluster://") || url.starts_with("rediss-cluster://");
}

int run_cluster(const BenchOptions& o) {
  auto url = redis::cluster::ClusterUrl::parse(o.url);
  if (!url) {
    std::fprintf(stderr, "connpool bench redis: %s\n", url.error().to_string().c_str());
    return kExitConfigError;
  }
  if (o.no_pool) {
    std::fprintf(stderr, "connpool bench redis: --no-pool is not available for Redis Cluster\n");
    return kExitConfigError;
  }
  int rc = kExitOk;
  if (o.pipeline_auto != "off") rc = std::max(rc, run_cluster_mode(o, *url, true));
  if (o.pipeline_auto != "on") rc = std::max(rc, run_cluster_mode(o, *url, false));
  return rc;
}

}  // namespace

void add_bench_redis(CLI::App& bench, int& exit_code) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "redis", "SET+GET on random keys from many concurrent callers against a Redis server");
  cmd->add_option("--url", opts->url, "Redis URL (redis://, rediss://, unix://, redis-cluster://)")
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
    if (is_cluster_url(opts->url)) {
      exit_code = run_cluster(*opts);
      return;
    }
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
