// `connpool bench sizing`: the same workload (sizing_load.hpp: ramp, spike, wave) against one
// Redis server with each sizing mode (fixed, reactive, predictive), in one sitting. Requests
// arrive at random (exponential gaps, fixed seed) at the phase's rate; each acquires a lease,
// runs GET, holds the connection for --hold (the caller's work), and releases it. Connects are
// slowed by --connect-delay (a connector wrapper, like a TLS handshake to a remote region): that
// is what makes waiting for a new connection expensive, and what predictive sizing avoids.
//
// Measured per mode and phase: acquire wait p50/p99 (µs), acquire timeouts, connection-seconds
// (open connections integrated over time, sampled every 10 ms) and whether max_size was reached.
// --rounds R alternates the modes R times and reports each number's median over the rounds.
#include "connpool/core/pool.hpp"
#include "connpool/redis/connector.hpp"

#include "bench/sizing_load.hpp"
#include "bench/support_bench.hpp"
#include "commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace connpool::cli {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using sizing::kPhases;
using std::chrono::milliseconds;
constexpr std::size_t kPhaseCount = kPhases.size();

struct SizingOptions {
  std::string url = "redis://127.0.0.1:6379";
  std::string connect_delay = "50ms";
  std::string hold = "25ms";
  double scale = 1.0;
  std::size_t min_size = 2;
  std::size_t max_size = 30;
  std::string modes = "fixed,reactive,predictive";
  int rounds = 1;
  bool json = false;
};

// RedisConnector with a fixed delay before every connect.
class DelayedConnector {
 public:
  using connection_type = redis::Connection;
  DelayedConnector(redis::RedisConnector inner, milliseconds delay)
      : inner_(std::move(inner)), delay_(delay) {}

  asio::awaitable<Result<std::unique_ptr<redis::Connection>>> connect(core::Deadline deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay_);
    co_await timer.async_wait(asio::use_awaitable);
    co_return co_await inner_.connect(deadline);
  }
  asio::awaitable<Result<void>> validate(redis::Connection& c, core::Deadline deadline) {
    return inner_.validate(c, deadline);
  }
  bool recycle(redis::Connection& c) noexcept { return inner_.recycle(c); }
  void close(redis::Connection& c) noexcept { inner_.close(c); }

 private:
  redis::RedisConnector inner_;
  milliseconds delay_;
};
using SizingPool = core::Pool<DelayedConnector>;

struct PhaseResult {
  double p50_us = 0;
  double p99_us = 0;
  double timeouts = 0;
  double connection_seconds = 0;
  bool max_size_reached = false;
};

struct ModeResult {
  std::string mode;
  PhaseResult overall;
  std::array<PhaseResult, kPhaseCount> phases{};
  std::uint64_t errors = 0;
  std::string first_error;
};

// What one mode's run collects; single-threaded (one io_context thread), so no locks.
struct Recorder {
  std::array<std::vector<std::uint32_t>, kPhaseCount> waits;
  std::array<std::uint64_t, kPhaseCount> timeouts{};
  std::array<double, kPhaseCount> connection_seconds{};
  std::array<bool, kPhaseCount> max_reached{};
  std::uint64_t errors = 0;
  std::string first_error;
  int in_flight = 0;
  std::size_t phase = 0;
  bool done = false;
};

// Modes are compared with each one's own parameters; reactive gets the tuning of
// bench/dynamic_sizing_bench.cpp (fast steps, a 2 s cooldown) and predictive the same 2 s
// before it shrinks, so both give connections back between phases.
core::PoolConfig mode_config(const SizingOptions& o, core::SizingMode mode) {
  core::PoolConfig c;
  c.min_size = o.min_size;
  c.max_size = o.max_size;
  c.acquire_timeout = milliseconds(1000);
  c.connect_timeout = milliseconds(5000);
  c.sizing = mode;
  c.dynamic_sizing.scale_up_utilization = 0.75;
  c.dynamic_sizing.scale_up_cooldown = milliseconds(100);
  c.dynamic_sizing.scale_up_step = 8;
  c.dynamic_sizing.scale_down_utilization = 0.5;
  c.dynamic_sizing.scale_down_cooldown = milliseconds(2000);
  c.dynamic_sizing.scale_down_step = 8;
  c.predictive.scale_down_delay = milliseconds(2000);
  return c;
}

asio::awaitable<void> request(SizingPool& pool, Recorder& rec, std::size_t phase,
                              Clock::duration hold) {
  ++rec.in_flight;
  const auto start = Clock::now();
  auto lease = co_await pool.acquire();
  const auto waited = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  if (!lease) {
    if (lease.error().code() == errc::acquire_timeout) {
      ++rec.timeouts[phase];
    } else if (rec.errors++ == 0) {
      rec.first_error = lease.error().to_string();
    }
    --rec.in_flight;
    co_return;
  }
  rec.waits[phase].push_back(static_cast<std::uint32_t>(waited.count()));
  const std::string_view get[] = {"GET", "bench:sizing"};
  auto reply = co_await (*lease)->execute(get);
  if (!reply) {
    if (rec.errors++ == 0) rec.first_error = reply.error().to_string();
    lease->discard();
  } else {
    asio::steady_timer timer(co_await asio::this_coro::executor, hold);
    co_await timer.async_wait(asio::use_awaitable);
  }
  --rec.in_flight;
}

// Arrivals: exponential gaps at the phase's current rate, a fixed seed per round.
asio::awaitable<void> generate(SizingPool& pool, Recorder& rec, const SizingOptions& o,
                               Clock::duration hold, unsigned seed) {
  std::mt19937_64 rng(seed);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    rec.phase = p;
    const double length = kPhases[p].seconds * o.scale;
    const auto begin = Clock::now();
    auto next = begin;
    for (;;) {
      const double t = std::chrono::duration<double>(next - begin).count();
      if (t >= length) break;
      std::exponential_distribution<double> gap(kPhases[p].rate(t, length));
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
      timer.expires_at(next);
      co_await timer.async_wait(asio::use_awaitable);
      asio::co_spawn(co_await asio::this_coro::executor, request(pool, rec, p, hold),
                     asio::detached);
    }
  }
  while (rec.in_flight > 0) {
    timer.expires_after(milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
  rec.done = true;
}

// Open connections integrated over time, and whether the pool hit max_size, per phase.
asio::awaitable<void> sample(SizingPool& pool, Recorder& rec) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto last = Clock::now();
  while (!rec.done) {
    timer.expires_after(milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
    const auto now = Clock::now();
    const auto s = pool.stats();
    rec.connection_seconds[rec.phase] +=
        static_cast<double>(s.total) * std::chrono::duration<double>(now - last).count();
    if (s.total + s.connecting >= s.max_size) rec.max_reached[rec.phase] = true;
    last = now;
  }
}

PhaseResult summarise(std::vector<std::uint32_t>& waits, std::uint64_t timeouts, double conn_s,
                      bool reached) {
  PhaseResult r;
  r.p50_us = percentile(waits, 0.50);
  r.p99_us = percentile(waits, 0.99);
  r.timeouts = static_cast<double>(timeouts);
  r.connection_seconds = conn_s;
  r.max_size_reached = reached;
  return r;
}

Result<ModeResult> run_one(const SizingOptions& o, const redis::RedisUrl& url,
                           core::SizingMode mode, milliseconds delay, Clock::duration hold,
                           unsigned seed) {
  asio::io_context ioc;
  core::PoolOptions options;
  options.name = "sizing-" + std::string(core::to_string(mode));
  options.backend = "redis";
  options.logger = [](core::LogLevel, std::string_view) {};
  auto pool =
      SizingPool::create(ioc.get_executor(), DelayedConnector(redis::RedisConnector(url), delay),
                         mode_config(o, mode), options);
  if (!pool) return pool.error();
  Recorder rec;
  asio::co_spawn(ioc, generate(*pool, rec, o, hold, seed), asio::detached);
  asio::co_spawn(ioc, sample(*pool, rec), asio::detached);
  while (!rec.done) ioc.run_one();
  pool->close_now();
  ioc.run_for(milliseconds(100));

  ModeResult out;
  out.mode = std::string(core::to_string(mode));
  std::vector<std::uint32_t> all;
  double conn_s = 0;
  std::uint64_t timeouts = 0;
  bool reached = false;
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    all.insert(all.end(), rec.waits[p].begin(), rec.waits[p].end());
    conn_s += rec.connection_seconds[p];
    timeouts += rec.timeouts[p];
    reached = reached || rec.max_reached[p];
    out.phases[p] =
        summarise(rec.waits[p], rec.timeouts[p], rec.connection_seconds[p], rec.max_reached[p]);
  }
  out.overall = summarise(all, timeouts, conn_s, reached);
  out.errors = rec.errors;
  out.first_error = rec.first_error;
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Each number's median over the rounds; max_size_reached if any round reached it.
PhaseResult median_of(const std::vector<PhaseResult>& runs) {
  std::vector<double> p50, p99, t, cs;
  PhaseResult r;
  for (const auto& x : runs) {
    p50.push_back(x.p50_us);
    p99.push_back(x.p99_us);
    t.push_back(x.timeouts);
    cs.push_back(x.connection_seconds);
    r.max_size_reached = r.max_size_reached || x.max_size_reached;
  }
  r.p50_us = median(p50);
  r.p99_us = median(p99);
  r.timeouts = median(t);
  r.connection_seconds = median(cs);
  return r;
}

std::string fields_json(const PhaseResult& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\"p50_acquire_wait_us\":%.0f,\"p99_acquire_wait_us\":%.0f,"
                "\"acquire_timeouts\":%.0f,\"connection_seconds\":%.2f,"
                "\"max_size_reached\":%s",
                r.p50_us, r.p99_us, r.timeouts, r.connection_seconds,
                r.max_size_reached ? "true" : "false");
  return buf;
}

void print(const ModeResult& m, bool json) {
  if (json) {
    std::string line = "{\"mode\":\"" + m.mode + "\"," + fields_json(m.overall) + ",\"phases\":{";
    for (std::size_t p = 0; p < kPhaseCount; ++p) {
      line += (p ? ",\"" : "\"") + std::string(kPhases[p].name) + "\":{" +
              fields_json(m.phases[p]) + "}";
    }
    std::printf("%s}}\n", line.c_str());
    return;
  }
  auto row = [](const std::string& label, const PhaseResult& r) {
    std::printf("  %-8s wait p50 %7.0f us  p99 %7.0f us  timeouts %4.0f  conn-s %7.2f%s\n",
                label.c_str(), r.p50_us, r.p99_us, r.timeouts, r.connection_seconds,
                r.max_size_reached ? "  (max_size reached)" : "");
  };
  std::printf("%s:\n", m.mode.c_str());
  row("overall", m.overall);
  for (std::size_t p = 0; p < kPhaseCount; ++p) row(std::string(kPhases[p].name), m.phases[p]);
}

std::vector<core::SizingMode> parse_modes(const std::string& text) {
  std::vector<core::SizingMode> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    auto mode = core::parse_sizing_mode(name);
    if (!mode) return {};
    out.push_back(*mode);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int run_sizing(const SizingOptions& o) {
  auto bad = [](const std::string& what) {
    std::fprintf(stderr, "connpool bench sizing: %s\n", what.c_str());
    return kExitConfigError;
  };
  auto url = redis::RedisUrl::parse(o.url);
  if (!url) return bad(url.error().to_string());
  auto delay = core::parse_duration(o.connect_delay);
  if (!delay) return bad("--connect-delay: " + delay.error().message());
  auto hold = core::parse_duration(o.hold);
  if (!hold) return bad("--hold: " + hold.error().message());
  const auto modes = parse_modes(o.modes);
  if (modes.empty()) return bad("--modes: must be a comma list of fixed, reactive, predictive");
  if (o.min_size > o.max_size) return bad("--min-size must be <= --max-size");

  std::vector<std::vector<ModeResult>> runs(modes.size());
  int rc = kExitOk;
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t m = 0; m < modes.size(); ++m) {
      // Same seed for every mode of a round: the same arrivals.
      auto r = run_one(o, *url, modes[m], *delay, *hold, 1000u + static_cast<unsigned>(round));
      if (!r) return bad(r.error().to_string());
      if (r->errors > 0) {
        std::fprintf(stderr, "connpool bench sizing: %s: %llu errors, first: %s\n", r->mode.c_str(),
                     static_cast<unsigned long long>(r->errors), r->first_error.c_str());
        rc = kExitFailure;
      }
      if (!o.json && o.rounds > 1) {
        std::printf("round %d ", round + 1);
        print(*r, false);
      }
      runs[m].push_back(std::move(*r));
    }
  }
  if (!o.json) {
    std::printf("connect delay %s, hold %s, scale %.2f, min_size %zu, max_size %zu%s\n",
                o.connect_delay.c_str(), o.hold.c_str(), o.scale, o.min_size, o.max_size,
                o.rounds > 1 ? "; medians over the rounds:" : ":");
  }
  for (auto& mode_runs : runs) {
    ModeResult med;
    med.mode = mode_runs.front().mode;
    std::vector<PhaseResult> overall;
    for (const auto& r : mode_runs) overall.push_back(r.overall);
    med.overall = median_of(overall);
    for (std::size_t p = 0; p < kPhaseCount; ++p) {
      std::vector<PhaseResult> ph;
      for (const auto& r : mode_runs) ph.push_back(r.phases[p]);
      med.phases[p] = median_of(ph);
    }
    print(med, o.json);
  }
  return rc;
}

}  // namespace

void add_bench_sizing(CLI::App& bench, int& exit_code) {
  auto opts = std::make_shared<SizingOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "sizing", "One ramp/spike/wave workload against a Redis server with each sizing mode");
  CLI::Option* url_option =
      cmd->add_option("--url", opts->url, "Redis URL; without it, $REDIS_URL if set")
          ->capture_default_str();
  cmd->add_option("--connect-delay", opts->connect_delay,
                  "added before every connect (e.g. a TLS handshake to a remote region)")
      ->capture_default_str();
  cmd->add_option("--hold", opts->hold, "how long each request holds its connection")
      ->capture_default_str();
  cmd->add_option("--scale", opts->scale,
                  "multiplies the phase lengths (ramp 15 s, spike 20 s, "
                  "wave 30 s); 0.1 for a quick run")
      ->check(CLI::Range(0.01, 100.0))
      ->capture_default_str();
  cmd->add_option("--min-size", opts->min_size, "pool min_size")->capture_default_str();
  cmd->add_option("--max-size", opts->max_size, "pool max_size")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))
      ->capture_default_str();
  cmd->add_option("--modes", opts->modes, "comma list of sizing modes to run")
      ->capture_default_str();
  cmd->add_option("--rounds", opts->rounds, "alternate the modes this many times; medians")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--json", opts->json, "print one JSON object per mode");
  cmd->callback([opts, url_option, &exit_code] {
    if (url_option->count() == 0) {
      const char* from_env = std::getenv("REDIS_URL");
      if (from_env != nullptr && from_env[0] != '\0') opts->url = from_env;
    }
    exit_code = run_sizing(*opts);
  });
}

}  // namespace connpool::cli
