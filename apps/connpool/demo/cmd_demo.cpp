// connpool demo: the main job of `make demo`. A small La Factoria-style workload: workers take
// content-generation jobs from a Firestore `jobs` collection (PENDING -> RUNNING -> DONE),
// cache generated content in Redis with a TTL, and serve repeat requests from the cache, while
// the admin endpoint serves metrics and a live table shows the pools.
#include "connpool/config/load.hpp"
#include "connpool/service/runtime.hpp"

#include "commands.hpp"
#include "common/logging.hpp"
#include "demo/local_servers.hpp"
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <random>
#include <thread>

namespace connpool::cli {

namespace asio = boost::asio;
namespace fs = connpool::firestore;
using namespace std::chrono_literals;

using service::Runtime;
using service::RuntimeOptions;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr const char* kJobs = "jobs";

const std::vector<std::string>& topics() {
  static const std::vector<std::string> t = {
      "photosynthesis",  "black holes",       "the French revolution", "prime numbers",
      "plate tectonics", "the immune system", "machine learning",      "volcanoes",
      "the water cycle", "ancient Rome",      "quantum computing",     "coral reefs"};
  return t;
}

struct DemoArgs {
  int duration_s = 30;
  int workers = 8;
  int readers = 4;
  config::Flags flags;
};

struct Counters {
  std::atomic<long> jobs_created{0}, jobs_done{0}, claims_lost{0};
  std::atomic<long> cache_hits{0}, cache_misses{0};
  std::atomic<long> redis_ops{0}, firestore_ops{0};
  std::atomic<long> errors{0};
  std::atomic<bool> stopping{false};
  std::atomic<int> tasks_running{0};
  std::mutex mu;
  std::string last_error;
  void error(const Error& e) {
    ++errors;
    std::lock_guard lock(mu);
    last_error = e.to_string();
  }
};

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  co_await t.async_wait(nothrow);
}

// Adds jobs while the demo runs: a few per tick, topics repeating so that the cache helps.
asio::awaitable<void> producer(fs::Client& firestore, Counters& c) {
  ++c.tasks_running;
  std::mt19937 rng(7);
  long n = 0;
  while (!c.stopping) {
    for (int i = 0; i < 2 && !c.stopping; ++i) {
      fs::Map fields;
      fields["topic"] = fs::Value(topics()[rng() % topics().size()]);
      fields["status"] = fs::Value("PENDING");
      fields["requested_at"] = fs::Value(fs::Timestamp::now());
      std::string id = "job-" + std::to_string(++n);
      std::string collection = kJobs;
      auto r = co_await firestore.create_document(std::move(collection), std::move(id),
                                                  std::move(fields));
      ++c.firestore_ops;
      if (r) {
        ++c.jobs_created;
      } else {
        c.error(r.error());
      }
    }
    co_await pause(100ms);
  }
  --c.tasks_running;
}

// "Generates" content for a topic (a stand-in for an LLM call) unless Redis has it cached.
asio::awaitable<Result<std::string>> content_for(redis::Client& redis, const std::string& topic,
                                                 Counters& c) {
  const std::string key = "content:" + topic;
  auto cached = co_await redis.get(key);
  ++c.redis_ops;
  if (!cached) co_return std::move(cached).error();
  if (cached->has_value()) {
    ++c.cache_hits;
    co_return std::move(**cached);
  }
  ++c.cache_misses;
  co_await pause(30ms);  // generation is the slow part
  std::string content = "A short lesson about " + topic + ".";
  redis::SetOptions ttl;
  ttl.ex = std::chrono::seconds(60);
  auto stored = co_await redis.set(key, content, ttl);  // named arguments: see worker()
  ++c.redis_ops;
  if (!stored) co_return std::move(stored).error();
  co_return content;
}

// Takes PENDING jobs, claims each with an update_time precondition (so two workers never run
// the same job), produces its content and marks it DONE.
asio::awaitable<void> worker(fs::Client& firestore, redis::Client& redis, Counters& c,
                             std::string name) {
  ++c.tasks_running;
  while (!c.stopping) {
    std::vector<fs::Filter> filters;
    filters.push_back(fs::Filter::where("status", fs::Op::equal, fs::Value("PENDING")));
    std::string collection = kJobs;
    std::vector<fs::OrderBy> order;
    auto pending =
        co_await firestore.query_documents(std::move(collection), std::move(filters), order, 4);
    ++c.firestore_ops;
    if (!pending) {
      c.error(pending.error());
      co_await pause(200ms);
      continue;
    }
    if (pending->empty()) {
      co_await pause(50ms);
      continue;
    }
    for (const fs::Document& job : *pending) {
      if (c.stopping) break;
      fs::Map claim;
      claim["status"] = fs::Value("RUNNING");
      claim["worker"] = fs::Value(name);
      std::string claim_collection = kJobs;
      std::string claim_id = job.id;
      const auto unchanged = fs::Precondition::updated_at(job.update_time);
      auto claimed = co_await firestore.update_document(
          std::move(claim_collection), std::move(claim_id), std::move(claim), unchanged);
      ++c.firestore_ops;
      if (!claimed) {
        if (claimed.error().is(errc::failed_precondition)) {
          ++c.claims_lost;  // another worker was faster
        } else {
          c.error(claimed.error());
        }
        continue;
      }
      const fs::Value* topic = job.get("topic");
      const std::string* topic_text = topic ? topic->get_if<std::string>() : nullptr;
      // Arguments are named locals, never temporaries inside co_await: GCC 12 destroys such
      // temporaries twice.
      const std::string topic_name = topic_text ? *topic_text : "unknown";
      auto content = co_await content_for(redis, topic_name, c);
      if (!content) {
        c.error(content.error());
        continue;
      }
      fs::Map done;
      done["status"] = fs::Value("DONE");
      done["result_length"] = fs::Value(static_cast<std::int64_t>(content->size()));
      done["done_at"] = fs::Value(fs::Timestamp::now());
      std::string done_collection = kJobs;
      std::string done_id = job.id;
      const auto exists = fs::Precondition::exists();
      auto finished = co_await firestore.update_document(
          std::move(done_collection), std::move(done_id), std::move(done), exists);
      ++c.firestore_ops;
      if (finished) {
        ++c.jobs_done;
      } else {
        c.error(finished.error());
      }
    }
  }
  --c.tasks_running;
}

// Repeat requests for popular topics, served from the cache when it has them.
asio::awaitable<void> reader(redis::Client& redis, Counters& c, unsigned seed) {
  ++c.tasks_running;
  std::mt19937 rng(seed);
  while (!c.stopping) {
    const std::string key = "content:" + topics()[rng() % topics().size()];
    auto got = co_await redis.get(key);
    ++c.redis_ops;
    if (!got) {
      c.error(got.error());
    } else if (got->has_value()) {
      ++c.cache_hits;
    } else {
      ++c.cache_misses;
    }
    co_await pause(20ms);
  }
  --c.tasks_running;
}

std::string percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%5.1f%%", v * 100.0);
  return buf;
}

void print_table(const Runtime& rt, const Counters& c, double ops_per_sec, long elapsed_s,
                 bool tty) {
  std::string out;
  if (tty) out += "\033[H\033[J";  // home + clear: redraw in place
  char line[256];
  std::snprintf(line, sizeof line, "connpool demo  t=%lds  admin: %s\n", elapsed_s,
                rt.admin_url().c_str());
  out += line;
  std::snprintf(line, sizeof line, "%-22s %-10s %5s %6s %7s %7s %11s\n", "pool", "backend", "idle",
                "active", "waiting", "total", "utilization");
  out += line;
  for (const auto& entry : rt.registry().list()) {
    const auto s = entry->stats();
    std::snprintf(line, sizeof line, "%-22s %-10s %5zu %6zu %7zu %7zu %11s\n", entry->name.c_str(),
                  entry->backend.c_str(), s.idle, s.in_use, s.waiting, s.total,
                  percent(s.utilization).c_str());
    out += line;
  }
  const long hits = c.cache_hits;
  const long lookups = hits + c.cache_misses;
  std::snprintf(
      line, sizeof line, "ops/s %.0f  cache hit rate %s  jobs done %ld of %ld  errors %ld\n",
      ops_per_sec,
      percent(lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0).c_str(),
      c.jobs_done.load(), c.jobs_created.load(), c.errors.load());
  out += line;
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

int run_demo(const DemoArgs& args) {
  setup_logging(LogFormat::text);
  config::EnvMap env = config::process_environment();
  const bool has_file = args.flags.config_file || env.contains("CONNPOOL_CONFIG");

  // With no endpoints configured, bring our own servers (stopped when these go out of scope).
  std::optional<LocalServer> local_redis;
  std::optional<LocalServer> local_firestore;
  if (!has_file && !env.contains("REDIS_URL")) {
    std::cout << "starting a local redis-server ..." << std::flush;
    auto server = LocalServer::start_redis();
    if (!server) {
      std::cout << "\n";
      std::cerr << "connpool demo: " << server.error().message() << "\n";
      return kExitFailure;
    }
    local_redis.emplace(std::move(*server));
    // The password stays in this process (never printed): the pool gets it through the URL.
    env["REDIS_URL"] =
        "redis://:" + local_redis->password() + "@127.0.0.1:" + std::to_string(local_redis->port());
    std::cout << " port " << local_redis->port() << "\n";
  }
  if (!has_file && !env.contains("FIRESTORE_EMULATOR_HOST") &&
      !env.contains("GOOGLE_CLOUD_PROJECT")) {
    std::cout << "starting the Firestore emulator ..." << std::flush;
    auto server = LocalServer::start_firestore_emulator();
    if (!server) {
      std::cout << "\n";
      std::cerr << "connpool demo: " << server.error().message() << "\n";
      return kExitFailure;
    }
    local_firestore.emplace(std::move(*server));
    env["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:" + std::to_string(local_firestore->port());
    env["GOOGLE_CLOUD_PROJECT"] = "connpool-demo";
    std::cout << " port " << local_firestore->port() << "\n";
  }

  auto config = config::load(env, args.flags);
  if (!config) {
    std::cerr << "connpool demo: " << config.error().message() << "\n";
    return kExitConfigError;
  }
  asio::io_context ioc(2);
  RuntimeOptions options;
  options.logger = [](core::LogLevel level, std::string_view message) {
    if (level >= core::LogLevel::warning) log(level, message);
  };
  // The configured admin port if one was asked for, else any free port.
  if (!env.contains("CONNPOOL_ADMIN_PORT") && !has_file) options.admin_port = 0;
  auto runtime = Runtime::start(*config, ioc.get_executor(), options);
  if (!runtime) {
    std::cerr << "connpool demo: " << runtime.error().to_string() << "\n";
    return kExitFailure;
  }
  Runtime& rt = **runtime;
  redis::Client* redis = rt.redis();
  fs::Client* firestore = rt.firestore();
  if (redis == nullptr || firestore == nullptr) {
    // The workload uses one redis::Client; a Redis Cluster pool is not one.
    std::cerr << "connpool demo: the demo needs a Redis pool (redis://, rediss://, unix:// or "
                 "redis-sentinel://) and a Firestore pool; configured: "
              << rt.redis_pools().size() << " Redis, " << rt.cluster_pools().size()
              << " Redis Cluster, " << rt.firestore_pools().size() << " Firestore\n";
    return kExitConfigError;
  }
  std::cout << "admin endpoint: " << rt.admin_url() << "/api/v1/admin/connection-pools  and  "
            << rt.admin_url() << "/metrics\n";

  Counters c;
  asio::co_spawn(asio::make_strand(ioc), producer(*firestore, c), asio::detached);
  for (int i = 0; i < args.workers; ++i) {
    asio::co_spawn(asio::make_strand(ioc),
                   worker(*firestore, *redis, c, "worker-" + std::to_string(i)), asio::detached);
  }
  for (int i = 0; i < args.readers; ++i) {
    asio::co_spawn(asio::make_strand(ioc), reader(*redis, c, 100u + static_cast<unsigned>(i)),
                   asio::detached);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { ioc.run(); });

  // Ctrl-C ends the demo early; the drain below is the same either way.
  static std::atomic<bool> interrupted{false};
  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });

  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const auto started = std::chrono::steady_clock::now();
  long last_ops = 0;
  auto last_tick = started;
  long tick = 0;
  while (!interrupted) {
    std::this_thread::sleep_for(1s);
    ++tick;
    const auto now = std::chrono::steady_clock::now();
    const long ops = c.redis_ops + c.firestore_ops;
    const double rate = static_cast<double>(ops - last_ops) /
                        std::chrono::duration<double>(now - last_tick).count();
    last_ops = ops;
    last_tick = now;
    const long elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    if (tty || tick % 5 == 0) print_table(rt, c, rate, elapsed, tty);
    if (args.duration_s > 0 && elapsed >= args.duration_s) break;
  }

  // Graceful end: stop the workload, let in-flight work finish, drain the pools.
  c.stopping = true;
  for (int i = 0; i < 100 && c.tasks_running > 0; ++i) std::this_thread::sleep_for(50ms);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::promise<void> drained;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await rt.drain(5s);
        drained.set_value();
      },
      asio::detached);
  drained.get_future().wait_for(10s);
  rt.stop_admin();
  ioc.stop();
  for (auto& t : threads) t.join();

  const long hits = c.cache_hits;
  const long lookups = hits + c.cache_misses;
  std::cout << "\nsummary after " << static_cast<long>(seconds) << "s:\n"
            << "  jobs created " << c.jobs_created << ", done " << c.jobs_done
            << ", claims lost to other workers " << c.claims_lost << "\n"
            << "  cache hits " << hits << ", misses " << c.cache_misses << ", hit rate "
            << percent(lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0)
            << "\n"
            << "  operations: redis " << c.redis_ops << ", firestore " << c.firestore_ops << " ("
            << static_cast<long>(static_cast<double>(c.redis_ops + c.firestore_ops) / seconds)
            << "/s)\n"
            << "  errors " << c.errors;
  {
    std::lock_guard lock(c.mu);
    if (!c.last_error.empty()) std::cout << " (last: " << c.last_error << ")";
  }
  std::cout << "\n";
  for (const auto& entry : rt.registry().list()) {
    const auto s = entry->stats();
    std::cout << "  pool " << entry->name << ": created " << s.created << ", closed "
              << s.closed_total() << ", acquires " << s.acquires << ", timeouts "
              << s.acquire_timeouts << (s.closed ? ", drained" : "") << "\n";
  }
  if (local_redis) std::cout << "stopping the local redis-server\n";
  if (local_firestore) std::cout << "stopping the local Firestore emulator\n";
  return c.jobs_done > 0 ? kExitOk : kExitFailure;
}

}  // namespace

void add_demo(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Run a La Factoria-style workload (Firestore jobs + Redis cache) with live pool stats; "
      "starts a local redis-server and Firestore emulator when no endpoints are configured");
  cmd->add_option("--duration", args->duration_s, "Seconds to run (0: until Ctrl-C)")
      ->check(CLI::Range(0, 86400));
  cmd->add_option("--workers", args->workers, "Job workers")->check(CLI::Range(1, 256));
  cmd->add_option("--readers", args->readers, "Cache readers")->check(CLI::Range(0, 256));
  cmd->add_option("--config", args->flags.config_file,
                  "YAML configuration file (default: $CONNPOOL_CONFIG)");
  cmd->add_option("--env", args->flags.environment,
                  "Environment profile: development, staging or production");
  cmd->callback([args, &exit_code] { exit_code = run_demo(*args); });
}

}  // namespace connpool::cli
