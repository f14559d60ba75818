// connpool_soak (`make soak`): mixed Redis + Firestore load for SOAK_MINUTES (default 10) while
// redis-server is killed with SIGKILL and restarted, and the Firestore emulator is killed and
// restarted, in turn every SOAK_CHAOS_SECONDS (default 45). Reports ops, errors by type,
// recovery times (restart done -> first success) and RSS sampled every 5 s.
//
// Exit status 1 when, after warm-up (the first 60 s, or the first fifth of a shorter run), the
// maximum RSS exceeds the RSS at the end of warm-up by more than SOAK_RSS_GROWTH_MB (default
// 32 MiB), or when anything leaked: a load coroutine still alive, a lease still out, a waiter
// still queued, more open file descriptors than before the load, or a restart never followed by
// a success. Not a ctest test: it runs for minutes.
#include "connpool/firestore/firestore.hpp"
#include "connpool/redis/client.hpp"

#include "integration/soak/soak_stats.hpp"
#include "support/firestore_emulator.hpp"
#include "support/redis_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace connpool::soak {
namespace {

namespace asio = boost::asio;
namespace fs = connpool::firestore;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

double env_number(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    return std::stod(v);
  } catch (...) {
    return fallback;
  }
}

// The redis-server this process started (its direct child), found in /proc, for a real
// SIGKILL: RedisServer::stop() is a graceful SIGTERM.
pid_t child_named(const std::string& comm) {
  const std::string me = std::to_string(::getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string pid, name, state, ppid;
    if (!(stat >> pid >> name >> state >> ppid)) continue;
    if (ppid == me && name == "(" + comm + ")") return static_cast<pid_t>(std::stol(pid));
  }
  return -1;
}

asio::awaitable<void> pause(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// SET, GET and INCR on a rotating set of keys.
asio::awaitable<void> redis_worker(redis::Client c, BackendStats& st, std::atomic<bool>& stop,
                                   int w) {
  LiveGuard alive(st);
  const std::string value(100, 'x');
  const std::string counter = "soak:counter:" + std::to_string(w);
  for (std::uint64_t i = 0; !stop.load(); ++i) {
    const std::string key = "soak:" + std::to_string(w) + ":" + std::to_string(i % 100);
    auto s = co_await c.set(key, value);
    if (!s) {
      st.failed(s.error());
      co_await pause(50ms);
      continue;
    }
    st.succeeded();
    auto g = co_await c.get(key);
    g ? st.succeeded() : st.failed(g.error());
    auto n = co_await c.incr(counter);
    n ? st.succeeded() : st.failed(n.error());
    co_await pause(2ms);  // a shared machine: steady load, not a benchmark
  }
}

// Writes and reads one document per worker.
asio::awaitable<void> firestore_worker(fs::Client c, BackendStats& st, std::atomic<bool>& stop,
                                       int w) {
  LiveGuard alive(st);
  const std::string id = "w" + std::to_string(w);
  for (std::int64_t i = 0; !stop.load(); ++i) {
    fs::Map fields{{"i", fs::Value(i)}, {"payload", fs::Value(std::string(200, 'y'))}};
    auto s = co_await c.set_document("soak", id, std::move(fields));
    if (!s) {
      st.failed(s.error());
      co_await pause(100ms);
      continue;
    }
    st.succeeded();
    auto g = co_await c.get_document("soak", id);
    g ? st.succeeded() : st.failed(g.error());
    co_await pause(10ms);
  }
}

template <class Pool>
bool settled(Pool& pool, std::size_t min_size) {
  const auto s = pool.stats();
  return s.leases == 0 && s.waiting == 0 && s.connecting == 0 && s.total == min_size;
}

std::string mib(std::size_t kib) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kib) / 1024.0);
  return buf;
}

std::string recovery_text(BackendStats& st) {
  std::lock_guard lock(st.mu);
  if (st.recoveries_ms.empty()) return "none";
  double max = 0, sum = 0;
  for (double r : st.recoveries_ms) {
    max = std::max(max, r);
    sum += r;
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "%zu recoveries, mean %.0f ms, max %.0f ms",
                st.recoveries_ms.size(), sum / static_cast<double>(st.recoveries_ms.size()), max);
  return buf;
}

int run() {
  const double minutes = env_number("SOAK_MINUTES", 10);
  const auto duration = std::chrono::milliseconds(static_cast<long long>(minutes * 60000));
  const auto chaos_every = std::chrono::milliseconds(
      static_cast<long long>(env_number("SOAK_CHAOS_SECONDS", 45) * 1000));
  const auto growth_bound_kib =
      static_cast<std::size_t>(env_number("SOAK_RSS_GROWTH_MB", 32) * 1024);
  const auto warmup = std::min<std::chrono::milliseconds>(60s, duration / 5);

  std::string err;
  auto redis_server = test::RedisServer::start({}, &err);
  if (!redis_server) {
    std::cerr << "soak: redis-server did not start: " << err << "\n";
    return 2;
  }
  auto emulator = testing::FirestoreEmulator::start();
  if (!emulator) {
    std::cerr << "soak: the Firestore emulator did not start: " << emulator.error().to_string()
              << "\n";
    return 2;
  }

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });

  auto url = redis::RedisUrl::parse(redis_server->url(
      "min_size=2&max_size=8&command_timeout=1s&connect_timeout=500ms&acquire_timeout=1s&"
      "health_check_interval=1s&max_idle_time=5s"));
  if (!url) {
    std::cerr << "soak: " << url.error().to_string() << "\n";
    return 2;
  }
  url->pool.reconnect_backoff_max = 500ms;
  auto rc = redis::Client::create(io.get_executor(), *url);
  fs::FirestoreOptions fo;
  fo.project_id = "soak";
  fo.emulator_host = (*emulator)->host();
  fo.call_timeout = 5s;
  fo.retry.max_attempts = 2;
  fo.max_reconnect_backoff = 500ms;
  auto pool_cfg = fs::default_pool_config();
  pool_cfg.max_idle_time = 5s;
  pool_cfg.health_check_interval = 1s;
  pool_cfg.reconnect_backoff_max = 500ms;
  auto fc = fs::Client::create(io.get_executor(), fo, pool_cfg);
  if (!rc || !fc) {
    std::cerr << "soak: client creation failed\n";
    return 2;
  }
  redis::Client redis_client = *rc;
  fs::Client fs_client = *fc;

  // Warm both pools to min_size, then take the file-descriptor baseline.
  auto wait_settled = [&](std::chrono::seconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (settled(redis_client.pool(), 2) && settled(fs_client.pool(), 1)) return true;
      std::this_thread::sleep_for(50ms);
    }
    return settled(redis_client.pool(), 2) && settled(fs_client.pool(), 1);
  };
  (void)redis_client.wait(redis_client.ping());
  (void)fs_client.blocking().get_document("soak", "warm");
  wait_settled(30s);
  const std::size_t fds_before = open_fds();

  BackendStats redis_stats("redis"), fs_stats("firestore");
  std::atomic<bool> stop{false};
  std::vector<std::future<void>> done;
  for (int w = 0; w < 12; ++w) {
    done.push_back(
        asio::co_spawn(io, redis_worker(redis_client, redis_stats, stop, w), asio::use_future));
  }
  for (int w = 0; w < 6; ++w) {
    done.push_back(
        asio::co_spawn(io, firestore_worker(fs_client, fs_stats, stop, w), asio::use_future));
  }

  const auto start = Clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::cout << "soak: " << minutes << " min, chaos every " << chaos_every.count() / 1000
            << " s, warm-up " << warmup.count() / 1000 << " s, RSS growth bound "
            << mib(growth_bound_kib) << "\n";
  std::size_t rss_at_warmup = 0, max_rss_after_warmup = 0, max_rss = 0;
  int redis_kills = 0, emulator_kills = 0, chaos_step = 0;
  auto next_sample = start;
  auto next_chaos = start + chaos_every;
  while (Clock::now() - start < duration) {
    const auto now = Clock::now();
    if (now >= next_sample) {
      const std::size_t rss = rss_kib();
      max_rss = std::max(max_rss, rss);
      if (now - start >= warmup) {
        if (rss_at_warmup == 0) rss_at_warmup = rss;
        max_rss_after_warmup = std::max(max_rss_after_warmup, rss);
      }
      std::printf("soak: t=%4.0fs rss=%s redis ok=%llu err=%llu firestore ok=%llu err=%llu\n",
                  elapsed_s(), mib(rss).c_str(),
                  static_cast<unsigned long long>(redis_stats.ok.load()),
                  static_cast<unsigned long long>(redis_stats.error_total()),
                  static_cast<unsigned long long>(fs_stats.ok.load()),
                  static_cast<unsigned long long>(fs_stats.error_total()));
      std::fflush(stdout);
      next_sample += 5s;
    }
    if (now >= next_chaos && Clock::now() - start + 20s < duration) {
      if (chaos_step++ % 2 == 0) {
        const pid_t pid = child_named("redis-server");
        std::printf("soak: t=%4.0fs kill -9 redis-server (pid %d), down 2 s\n", elapsed_s(), pid);
        if (pid > 0) ::kill(pid, SIGKILL);
        std::this_thread::sleep_for(2s);
        if (!redis_server->restart(&err)) {
          std::cerr << "soak: redis-server restart failed: " << err << "\n";
          stop = true;
          break;
        }
        redis_stats.restarted();
        ++redis_kills;
      } else {
        std::printf("soak: t=%4.0fs kill -9 the Firestore emulator, restart\n", elapsed_s());
        std::fflush(stdout);
        if (auto r = (*emulator)->restart(); !r) {
          std::cerr << "soak: emulator restart failed: " << r.error().to_string() << "\n";
          stop = true;
          break;
        }
        fs_stats.restarted();
        ++emulator_kills;
      }
      next_chaos = Clock::now() + chaos_every;
    }
    std::this_thread::sleep_for(100ms);
  }

  stop = true;
  for (auto& f : done) f.wait();
  const bool pools_settled = wait_settled(60s);
  // Retired gRPC channels are destroyed after a grace period: give them time.
  const auto fd_deadline = Clock::now() + 30s;
  while (open_fds() > fds_before && Clock::now() < fd_deadline) std::this_thread::sleep_for(100ms);
  const std::size_t fds_after = open_fds();
  const auto rs = redis_client.pool().stats();
  const auto fss = fs_client.pool().stats();

  std::printf("\n== soak summary (%.1f min) ==\n", elapsed_s() / 60.0);
  std::printf("faults: %d redis-server kill -9 + restart, %d emulator kill -9 + restart\n",
              redis_kills, emulator_kills);
  for (BackendStats* st : {&redis_stats, &fs_stats}) {
    std::printf("%-9s ops ok %llu, errors %llu (%s)\n", st->name.c_str(),
                static_cast<unsigned long long>(st->ok.load()),
                static_cast<unsigned long long>(st->error_total()), st->errors_text().c_str());
    std::printf("%-9s recovery (restart done -> first success): %s\n", st->name.c_str(),
                recovery_text(*st).c_str());
  }
  std::printf("rss: max %s; at end of warm-up %s; max after warm-up %s (growth %s, bound %s)\n",
              mib(max_rss).c_str(), mib(rss_at_warmup).c_str(), mib(max_rss_after_warmup).c_str(),
              mib(max_rss_after_warmup - std::min(rss_at_warmup, max_rss_after_warmup)).c_str(),
              mib(growth_bound_kib).c_str());
  std::printf(
      "leaks: live coroutines redis %d firestore %d; redis pool leases %zu waiting %zu "
      "total %zu; firestore pool leases %zu waiting %zu total %zu; fds %zu -> %zu\n",
      redis_stats.live_coroutines.load(), fs_stats.live_coroutines.load(), rs.leases, rs.waiting,
      rs.total, fss.leases, fss.waiting, fss.total, fds_before, fds_after);

  std::vector<std::string> failures;
  if (rss_at_warmup > 0 && max_rss_after_warmup > rss_at_warmup + growth_bound_kib) {
    failures.push_back("RSS grew beyond the bound after warm-up");
  }
  if (redis_stats.live_coroutines.load() != 0 || fs_stats.live_coroutines.load() != 0) {
    failures.push_back("a load coroutine is still alive");
  }
  if (!pools_settled) failures.push_back("a pool did not settle (lease, waiter or connect left)");
  if (fds_after > fds_before) failures.push_back("file descriptors leaked");
  for (BackendStats* st : {&redis_stats, &fs_stats}) {
    std::lock_guard lock(st->mu);
    if (st->awaiting) failures.push_back(st->name + ": no success after its last restart");
    if (st->ok.load() == 0) failures.push_back(st->name + ": no successful operation at all");
  }
  fs_client.pool().close_blocking(std::chrono::seconds(5));
  redis_client.close_now();
  work.reset();
  io.stop();
  for (auto& t : threads) t.join();
  for (const auto& f : failures) std::printf("SOAK FAILED: %s\n", f.c_str());
  if (failures.empty()) std::printf("soak: passed\n");
  return failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace connpool::soak

int main() {
  return connpool::soak::run();
}
