// `connpool bench redis`: C concurrent callers doing SET then GET on random keys for S seconds,
// through the pooled client (auto-pipelining on or off), with a new connection per operation
// (--no-pool, the seed's "validation tests" baseline), or through the blocking hiredis clients a
// user would otherwise pick (--baseline, bench_hiredis_baseline.hpp). Every GET is checked
// against the SET before it (bench_workload.hpp). Prints ops/s, latency percentiles and errors;
// --json prints one JSON object per mode; --compare alternates all modes for several rounds and
// prints the ratios (bench_compare.hpp). A redis-cluster:// URL runs the same load through
// cluster::ClusterClient (one pool per node; modes "cluster-auto-pipeline", "cluster").
#include <sys/resource.h>

// GCC 12 reports a false -Wmismatched-new-delete when it inlines a coroutine's ramp function
// (the frame is allocated by awaitable_frame_base::operator new and freed by its matching
// operator delete; GCC pairs the delete with the global new). Known GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "connpool/core/io_loop.hpp"
#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"
#include "connpool/service/urls.hpp"
#if CONNPOOL_HAVE_monitor
#include "connpool/monitor/metrics_registry.hpp"
#endif

#include "bench/bench_compare.hpp"
#include "bench/bench_hiredis_baseline.hpp"
#include "bench/bench_redis_benchmark.hpp"
#include "bench/bench_sweep.hpp"
#include "bench/bench_workload.hpp"
#include "bench/support_bench.hpp"
#include "commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
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
  int spin_us = 0;            // io threads poll this long before sleeping (core::run_io_loop)
  std::size_t pool_size = 0;  // 0: the URL's max_size, raised to --concurrency for "pool"
  bool json = false;
  std::string baseline;  // "", hiredis-threads, hiredis-pool or both
  bool compare = false;  // every mode, alternated, for `rounds` rounds
  int rounds = 3;
  bool quiet = false;  // no progress line and no per-run report (the sweep prints its own)
  bool sweep = false;
  SweepOptions sweep_options;
};

std::uint32_t micros_since(Clock::time_point start) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// One caller through a pooled client (redis::Client or cluster::ClusterClient): SET then GET
// on a key of its own, the GET checked, until told to stop.
template <class PooledClient>
asio::awaitable<WorkerResult> pooled_worker(PooledClient client, Totals& totals, WorkerLoad load) {
  WorkerResult out;
  out.latencies_us.reserve(1 << 16);
  while (!totals.stop.load(std::memory_order_relaxed)) {
    const std::string& key = load.next_key();
    const std::string& value = load.next_value();
    auto start = Clock::now();
    auto set = co_await client.set(key, value);
    out.latencies_us.push_back(micros_since(start));
    start = Clock::now();
    auto get = co_await client.get(key);
    out.latencies_us.push_back(micros_since(start));
    if (!set) out.fail(totals, set.error().to_string());
    if (!get) {
      out.fail(totals, get.error().to_string());
    } else {
      out.checked(totals, load.check(*get));
    }
    totals.ops.fetch_add(2, std::memory_order_relaxed);
  }
  co_return out;
}

// One caller opening a fresh connection for every operation (no pool).
asio::awaitable<WorkerResult> unpooled_worker(RedisUrl url, Totals& totals, WorkerLoad load) {
  WorkerResult out;
  auto executor = co_await asio::this_coro::executor;
  while (!totals.stop.load(std::memory_order_relaxed)) {
    const std::string& key = load.next_key();
    const std::string& value = load.next_value();
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
        out.fail(totals, reply.error().to_string());
      } else if (reply->is_error()) {
        out.fail(totals, reply->str());
      } else if (op == 1) {
        out.checked(totals,
                    reply->is_nil() ? load.check(std::nullopt) : load.check_value(reply->str()));
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

using Spawn = std::function<std::future<WorkerResult>(int worker, Totals& totals)>;

WorkerLoad worker_load(const BenchOptions& o, int worker) {
  return WorkerLoad(o.keyspace, o.value_size, o.concurrency, worker);
}

// Runs o.concurrency workers from `spawn` for o.duration_s with a progress line, then prints
// the result. `connections` (called once the workers stopped, before `finish`) counts the
// connections the pools opened; `finish` releases the clients and stops the io threads.
RunReport drive(const BenchOptions& o, const Target& target, const Spawn& spawn,
                const std::function<std::size_t()>& connections,
                const std::function<void()>& finish) {
  RunReport report;
  report.mode = target.mode;
  report.load_1m = load_average_1m();
  Totals totals;
  const double cpu_start = cpu_seconds();
  const auto started = Clock::now();
  std::vector<std::future<WorkerResult>> workers;
  for (int i = 0; i < o.concurrency; ++i) {
    workers.push_back(spawn(i, totals));
  }

  const auto duration = std::chrono::duration<double>(o.duration_s);
  std::uint64_t last_ops = 0;
  auto last_tick = started;
  while (Clock::now() - started < duration) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = Clock::now();
    if (!o.json && !o.quiet && now - last_tick >= std::chrono::seconds(1)) {
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
  if (o.quiet) {
    // The sweep reports the run.
  } else if (o.json) {
    std::printf(
        "{\"backend\":\"redis\",\"mode\":\"%s\",\"concurrency\":%d,\"duration_s\":%.3f,"
        "\"ops\":%" PRIu64
        ",\"ops_per_sec\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"p999_us\":%u,"
        "\"errors\":%" PRIu64
        ",\"value_size\":%zu,\"pipeline_auto\":%s,\"threads\":%d,\"spin_us\":%d,"
        "\"pool_max_size\":%zu,\"connections_opened\":%zu,\"client_cpu_us_per_op\":%.2f,"
        "\"load_avg_1m\":%.2f}\n",
        target.mode.c_str(), o.concurrency, elapsed, ops, ops_per_sec, p50, p99, p999, errors,
        o.value_size, target.auto_pipeline ? "true" : "false", o.threads, o.spin_us,
        target.pool_max, opened, cpu_us_per_op, report.load_1m);
  } else {
    std::fprintf(stderr, "\n");
    std::printf(
        "redis %s  url=%s  concurrency=%d  duration=%.1fs  value=%zuB  pool_max_size=%zu\n"
        "  ops=%" PRIu64 "  ops/s=%.0f  p50=%uus  p99=%uus  p999=%uus  errors=%" PRIu64
        "  client_cpu=%.2fus/op  connections=%zu  load=%.2f\n",
        target.mode.c_str(), target.url.c_str(), o.concurrency, elapsed, o.value_size,
        target.pool_max, ops, ops_per_sec, p50, p99, p999, errors, cpu_us_per_op, opened,
        report.load_1m);
  }
  if (errors > 0 && !first_error.empty() && !o.quiet) {
    std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  }
  std::fflush(stdout);
  report.ops_per_sec = ops_per_sec;
  report.ops = ops;
  report.errors = errors;
  report.verified = totals.verified.load();
  report.p50_us = p50;
  report.p99_us = p99;
  report.cpu_us_per_op = cpu_us_per_op;
  report.error = first_error;
  report.exit_code = (ops == 0 || errors > 0) ? kExitFailure : kExitOk;
  return report;
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
  IoRunner(int threads, int spin_us) : io(threads), work(asio::make_work_guard(io)) {
    const core::IoLoopOptions loop{std::chrono::microseconds(spin_us)};
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([this, loop] { core::run_io_loop(io, loop); });
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

RunReport failed(const std::string& mode, int exit_code) {
  RunReport r;
  r.mode = mode;
  r.exit_code = exit_code;
  return r;
}

RunReport run_mode(const BenchOptions& o, const RedisUrl& base_url, bool no_pool,
                   bool auto_pipeline) {
  Target target;
  target.mode = no_pool ? "no-pool" : (auto_pipeline ? "pool-auto-pipeline" : "pool");
  if (o.metrics && !no_pool) target.mode += "+metrics";
  target.auto_pipeline = !no_pool && auto_pipeline;
  RedisUrl url = base_url;
  url.pipeline_auto = auto_pipeline;
  size_pool(o, url.pool, auto_pipeline);
  target.url = url.redacted();
  target.pool_max = no_pool ? 0 : url.pool.max_size;

  IoRunner runner(o.threads, o.spin_us);
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
      return failed(target.mode, kExitConfigError);
    }
    client.emplace(std::move(*created));
    // One round trip first, so the measurement starts with a connected pool.
    if (auto ping = client->wait(client->ping()); !ping) {
      std::fprintf(stderr, "connpool bench redis: %s: %s\n", url.redacted().c_str(),
                   ping.error().to_string().c_str());
      client.reset();
      return failed(target.mode, kExitFailure);
    }
  }
  const Spawn spawn = [&](int worker, Totals& totals) {
    if (no_pool) {
      return asio::co_spawn(runner.io, unpooled_worker(url, totals, worker_load(o, worker)),
                            asio::use_future);
    }
    return asio::co_spawn(runner.io, pooled_worker(*client, totals, worker_load(o, worker)),
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
RunReport run_cluster_mode(const BenchOptions& o, const redis::cluster::ClusterUrl& base_url,
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

  IoRunner runner(o.threads, o.spin_us);
  core::PoolOptions pool_options;
  pool_options.name = "bench";
  pool_options.backend = "redis";
#if CONNPOOL_HAVE_monitor
  std::shared_ptr<monitor::MetricsRegistry> metrics;
  if (o.metrics) {
    // One observer per node pool, labelled pool="bench" and node="host:port" as in `serve`.
    metrics = std::make_shared<monitor::MetricsRegistry>();
    pool_options.observer_factory = [metrics](const core::PoolOptions& pool) {
      return metrics->make_observer(pool.name, pool.backend, pool.node);
    };
  }
#endif
  auto created = ClusterClient::create(runner.io.get_executor(), url, pool_options);
  if (!created) {
    std::fprintf(stderr, "connpool bench redis: %s\n", created.error().to_string().c_str());
    return failed(target.mode, kExitConfigError);
  }
  std::optional<ClusterClient> client(std::move(*created));
  // Loads the slot map and reaches every primary before the clock starts.
  if (auto ping = client->wait(client->ping()); !ping) {
    std::fprintf(stderr, "connpool bench redis: %s: %s\n", url.redacted().c_str(),
                 ping.error().to_string().c_str());
    client.reset();
    return failed(target.mode, kExitFailure);
  }
  const Spawn spawn = [&](int worker, Totals& totals) {
    return asio::co_spawn(runner.io, pooled_worker(*client, totals, worker_load(o, worker)),
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

// The same load through a blocking hiredis baseline. hiredis-pool gets as many connections as
// the exclusive-lease mode ("pool") would open, so the two pools compare like for like.
RunReport run_baseline(const BenchOptions& o, const RedisUrl& base_url, BaselineKind kind) {
  Target target;
  target.mode = std::string(baseline_name(kind));
  core::PoolConfig exclusive = base_url.pool;
  size_pool(o, exclusive, false);
  HiredisBaseline::Options options;
  options.kind = kind;
  options.url = base_url;
  options.pool_size = exclusive.max_size;
  options.keyspace = o.keyspace;
  options.value_size = o.value_size;
  options.concurrency = o.concurrency;
  target.url = base_url.redacted();
  target.pool_max = kind == BaselineKind::hiredis_pool ? exclusive.max_size : 0;
  auto baseline = HiredisBaseline::create(std::move(options));
  if (!baseline) {
    std::fprintf(stderr, "connpool bench redis: %s\n", baseline.error().to_string().c_str());
    const bool config = baseline.error().code() == errc::invalid_argument;
    return failed(target.mode, config ? kExitConfigError : kExitFailure);
  }
  const Spawn spawn = [&](int worker, Totals& totals) {
    return (*baseline)->spawn(worker, totals);
  };
  return drive(
      o, target, spawn, [&] { return (*baseline)->connections_opened(); },
      [&] { baseline->reset(); });
}

std::vector<BaselineKind> baselines(const std::string& flag) {
  if (flag == "hiredis-threads") return {BaselineKind::hiredis_threads};
  if (flag == "hiredis-pool") return {BaselineKind::hiredis_pool};
  if (flag == "both") return {BaselineKind::hiredis_threads, BaselineKind::hiredis_pool};
  return {};
}

// --compare: the four modes back to back, the order rotated each round so that no mode always
// runs first (or right after the heaviest one), then the ratios.
int run_compare(const BenchOptions& o, const RedisUrl& url) {
  const std::vector<std::function<RunReport()>> modes{
      [&] { return run_mode(o, url, false, true); },
      [&] { return run_mode(o, url, false, false); },
      [&] { return run_baseline(o, url, BaselineKind::hiredis_threads); },
      [&] { return run_baseline(o, url, BaselineKind::hiredis_pool); },
  };
  int rc = kExitOk;
  std::vector<std::vector<RunReport>> rounds;
  for (int r = 0; r < o.rounds; ++r) {
    if (!o.json) std::printf("-- round %d of %d (load %.2f)\n", r + 1, o.rounds, load_average_1m());
    auto& round = rounds.emplace_back();
    for (std::size_t i = 0; i < modes.size(); ++i) {
      round.push_back(modes[(i + static_cast<std::size_t>(r)) % modes.size()]());
      rc = std::max(rc, round.back().exit_code);
      if (round.back().exit_code == kExitConfigError) return rc;
    }
  }
  print_comparison(rounds, o.json);
  return rc;
}

int run_cluster(const BenchOptions& o) {
  auto url = redis::cluster::ClusterUrl::parse(o.url);
  if (!url) {
    std::fprintf(stderr, "connpool bench redis: %s\n", url.error().to_string().c_str());
    return kExitConfigError;
  }
  if (o.compare || !o.baseline.empty()) {
    std::fprintf(stderr,
                 "connpool bench redis: --baseline and --compare need a single server, not a "
                 "Redis Cluster\n");
    return kExitConfigError;
  }
  if (o.no_pool) {
    std::fprintf(stderr, "connpool bench redis: --no-pool is not available for Redis Cluster\n");
    return kExitConfigError;
  }
  int rc = kExitOk;
  if (o.pipeline_auto != "off") rc = std::max(rc, run_cluster_mode(o, *url, true).exit_code);
  if (o.pipeline_auto != "on") rc = std::max(rc, run_cluster_mode(o, *url, false).exit_code);
  return rc;
}

// --sweep: every caller count × value size, each client once per round (bench_sweep.hpp).
constexpr std::array<std::string_view, 7> kSweepClients{
    "redis-benchmark",     "hiredis-pool",    "pool-auto-pipeline",     "pool",
    "redis-benchmark-P16", "hiredis-threads", "pool-auto-pipeline-spin"};
// The first five run unless --sweep-clients says otherwise.
constexpr std::size_t kDefaultSweepClients = 5;
// pool-auto-pipeline-spin's io thread polls this long before it sleeps, unless --spin-us says.
constexpr int kSweepSpinUs = 50;

// Keys per point: every caller needs a key of its own, and the values stay within 64 MiB of
// server memory (10 000 keys of 1 MiB would be 10 GB).
std::size_t sweep_keyspace(const BenchOptions& o, const SweepPoint& p) {
  const std::size_t cap = (std::size_t{64} << 20) / std::max<std::size_t>(p.value_size, 1);
  return std::max<std::size_t>(static_cast<std::size_t>(p.callers), std::min(o.keyspace, cap));
}

int run_sweep_command(const BenchOptions& base, const RedisUrl& url) {
  if (url.transport == redis::Transport::tls) {
    std::fprintf(stderr,
                 "connpool bench redis --sweep: needs redis:// or unix:// (the hiredis and "
                 "redis-benchmark references run without TLS)\n");
    return kExitConfigError;
  }
  SweepOptions so = base.sweep_options;
  so.rounds = base.rounds;
  so.duration_s = base.duration_s;
  // redis-benchmark runs a request count (-n), not a duration: its last rate at each point
  // sizes the next run so that it lasts about as long as the others.
  std::map<std::tuple<std::string, int, std::size_t>, double> rates;
  const SweepRun run = [&](const std::string& client, const SweepPoint& p) -> RunReport {
    BenchOptions o = base;
    o.concurrency = p.callers;
    o.value_size = p.value_size;
    o.keyspace = sweep_keyspace(base, p);
    o.quiet = true;
    o.json = false;
    if (client == "pool-auto-pipeline") return run_mode(o, url, false, true);
    if (client == "pool-auto-pipeline-spin") {
      o.spin_us = base.spin_us > 0 ? base.spin_us : kSweepSpinUs;
      return run_mode(o, url, false, true);
    }
    if (client == "pool") return run_mode(o, url, false, false);
    if (client == "hiredis-pool") return run_baseline(o, url, BaselineKind::hiredis_pool);
    if (client == "hiredis-threads") return run_baseline(o, url, BaselineKind::hiredis_threads);
    RedisBenchmarkArgs args;
    args.url = url;
    args.clients = p.callers;
    args.value_size = p.value_size;
    args.keyspace = o.keyspace;
    args.pipeline = client == "redis-benchmark" ? 1 : 16;
    // Every connection gets a few requests; not a multiple of -P, which at 500 callers of 1 MiB
    // made one run last minutes.
    const auto floor = static_cast<std::uint64_t>(2 * p.callers);
    double& rate = rates[{client, p.callers, p.value_size}];
    if (rate <= 0) {
      // First run at this point: a short calibration run, not reported.
      args.requests = std::max<std::uint64_t>(floor, p.value_size >= 65536 ? 100 : 20000);
      const RunReport calibration = run_redis_benchmark(args);
      if (calibration.exit_code != 0) return calibration;
      rate = calibration.ops_per_sec;
    }
    args.requests = std::max(floor, static_cast<std::uint64_t>(rate * o.duration_s / 2));
    RunReport r = run_redis_benchmark(args);
    if (r.exit_code == 0) rate = r.ops_per_sec;
    return r;
  };
  return run_sweep(so, run);
}

}  // namespace

void add_bench_redis(CLI::App& bench, int& exit_code) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "redis", "SET+GET on random keys from many concurrent callers against a Redis server");
  CLI::Option* url_option =
      cmd->add_option("--url", opts->url,
                      "Redis URL (redis://, rediss://, unix://, redis-cluster://); without it, "
                      "$REDIS_URL if set (keeps a password off the command line)")
          ->capture_default_str();
  cmd->add_option("--concurrency,-c", opts->concurrency, "concurrent callers")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  CLI::Option* duration_option = cmd->add_option("--duration,-d", opts->duration_s,
                                                 "seconds to run (--sweep: per run, default 2)")
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
  cmd->add_option("--spin-us", opts->spin_us,
                  "io threads keep polling this many microseconds before they sleep (0: never; "
                  "trades CPU for latency at few callers, docs/redis.md)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "client io threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--pool-size", opts->pool_size,
                  "pool max_size (default: the URL's; at least --concurrency when "
                  "--pipeline-auto off)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
  cmd->add_flag("--json", opts->json, "print one JSON object per mode");
  cmd->add_option("--baseline", opts->baseline,
                  "run a blocking hiredis client instead of connpool: hiredis-threads (a "
                  "connection per caller thread), hiredis-pool (caller threads sharing a "
                  "mutex+condvar pool of as many connections as --pipeline-auto off uses, the "
                  "redis-plus-plus design), or both")
      ->check(CLI::IsMember({"hiredis-threads", "hiredis-pool", "both"}));
  cmd->add_flag("--compare", opts->compare,
                "run pool-auto-pipeline, pool, hiredis-threads and hiredis-pool back to back for "
                "--rounds rounds and print the ratios connpool/baseline and their medians");
  cmd->add_flag("--sweep", opts->sweep,
                "callers x value sizes, each point run by every --sweep-clients client once per "
                "round for --rounds rounds (order rotated); prints medians and ratios and writes "
                "CSV, JSON and an SVG plot into --out-dir. redis-benchmark must be on PATH; a "
                "password in the URL is passed to it with -a");
  cmd->add_option("--sweep-callers", opts->sweep_options.callers, "caller counts for --sweep")
      ->delimiter(',')
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--sweep-values", opts->sweep_options.values, "value sizes in bytes for --sweep")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{1}, std::size_t{512} << 20))
      ->capture_default_str();
  cmd->add_option("--sweep-clients", opts->sweep_options.clients,
                  "clients for --sweep (default: redis-benchmark, hiredis-pool, "
                  "pool-auto-pipeline, pool, redis-benchmark-P16; also hiredis-threads and "
                  "pool-auto-pipeline-spin, auto-pipelining with --spin-us or 50 us)")
      ->delimiter(',')
      ->check(CLI::IsMember(std::vector<std::string>(kSweepClients.begin(), kSweepClients.end())));
  cmd->add_option("--out-dir", opts->sweep_options.out_dir, "where --sweep writes its files")
      ->capture_default_str();
  cmd->add_option("--sweep-name", opts->sweep_options.name,
                  "--sweep file names: <name>.csv (medians), <name>-runs.csv, <name>.json, "
                  "<name>.svg, <name>.png")
      ->capture_default_str();
  cmd->add_flag(
      "--no-plot", [opts](std::int64_t) { opts->sweep_options.plot = false; },
      "--sweep without the gnuplot SVG and PNG");
  cmd->add_option("--rounds", opts->rounds, "rounds for --compare and --sweep")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
#if CONNPOOL_HAVE_monitor
  cmd->add_flag("--metrics", opts->metrics,
                "attach the Prometheus observer to the pools (to measure its cost)");
#endif
  cmd->callback([opts, url_option, duration_option, &exit_code] {
    if (url_option->count() == 0) {
      const char* from_env = std::getenv("REDIS_URL");
      if (from_env != nullptr && from_env[0] != '\0') opts->url = from_env;
    }
    if (service::is_cluster_url(opts->url)) {
      exit_code = run_cluster(*opts);
      return;
    }
    auto url = RedisUrl::parse(opts->url);
    if (!url) {
      std::fprintf(stderr, "connpool bench redis: %s\n", url.error().to_string().c_str());
      exit_code = kExitConfigError;
      return;
    }
    if (opts->compare) {
      exit_code = run_compare(*opts, *url);
      return;
    }
    if (opts->sweep) {
      if (duration_option->count() == 0) opts->duration_s = 2;
      if (opts->sweep_options.clients.empty()) {
        opts->sweep_options.clients.assign(kSweepClients.begin(),
                                           kSweepClients.begin() + kDefaultSweepClients);
      }
      exit_code = run_sweep_command(*opts, *url);
      return;
    }
    int rc = kExitOk;
    if (!opts->baseline.empty()) {
      for (auto kind : baselines(opts->baseline)) {
        rc = std::max(rc, run_baseline(*opts, *url, kind).exit_code);
      }
    } else if (opts->no_pool) {
      rc = run_mode(*opts, *url, true, false).exit_code;
    } else {
      if (opts->pipeline_auto != "off") {
        rc = std::max(rc, run_mode(*opts, *url, false, true).exit_code);
      }
      if (opts->pipeline_auto != "on") {
        rc = std::max(rc, run_mode(*opts, *url, false, false).exit_code);
      }
    }
    exit_code = rc;
  });
}

}  // namespace connpool::cli
