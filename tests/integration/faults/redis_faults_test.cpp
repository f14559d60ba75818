// Redis through the fault proxy, against a real redis-server: stalls honour the configured
// deadlines and the pool recovers; an RST fails exactly the commands in flight (INCR counters
// read directly from the server prove nothing was lost silently or applied twice); the circuit
// breaker opens during an outage and closes after it; no socket, lease or coroutine leaks.
// Each case runs with auto-pipelining on (shared leases) and off (exclusive leases).
#include "connpool/redis/client.hpp"

#include "integration/faults/fault_test_util.hpp"
#include "support/fault_proxy.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"
#include "support/sanitizer_factor.hpp"

#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <future>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace connpool::faults {
namespace {

namespace asio = boost::asio;
using connpool::test::IoThreads;
using connpool::test::RedisServer;
using connpool::testing::FaultProxy;
using redis::Client;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// One redis-server for the whole binary; its destructor (at exit) stops it.
RedisServer& server() {
  static std::unique_ptr<RedisServer> s = [] {
    std::string err;
    auto started = RedisServer::start({}, &err);
    if (!started) throw std::runtime_error("redis-server did not start: " + err);
    return started;
  }();
  return *s;
}

long long ms_since(steady_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - t).count();
}

// Many coroutines INCRementing one key until told to stop. Every reply value is recorded: INCR
// returns the new count, so a value seen twice would be a reply matched to the wrong caller.
struct IncrLoad {
  std::atomic<bool> stop{false};
  std::atomic<long long> ok{0};
  ErrorTally errors;
  LiveCounter coroutines;
  std::mutex mu;
  std::set<long long> values;
  bool duplicate = false;
  // Set by the test when a fault ends; the first success after it stamps `recovered_at`.
  std::atomic<bool> fault_over{false};
  std::atomic<long long> recovered_ms{-1};
  steady_clock::time_point fault_over_at;

  void on_value(long long v) {
    std::lock_guard lock(mu);
    duplicate = duplicate || !values.insert(v).second;
  }
};

class RedisFaults : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    proxy_ = std::make_unique<FaultProxy>("127.0.0.1", server().port());
    auto d = Client::create(io_.executor(), server().url("pipeline_auto=off&client_name=truth"));
    ASSERT_TRUE(d) << d.error().to_string();
    direct_.emplace(std::move(*d));
    // Its connection is opened now, before any test counts file descriptors.
    auto pong = direct_->wait(direct_->ping());
    ASSERT_TRUE(pong) << pong.error().to_string();
    key_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    // The server lives as long as the binary: under --gtest_repeat (make stress) the counter
    // would start at the previous repetition's count.
    auto cleared = direct_->wait(direct_->del(key_));
    ASSERT_TRUE(cleared) << cleared.error().to_string();
  }
  void TearDown() override { direct_.reset(); }

  // A client of the server behind the proxy, with this test's pipelining mode.
  std::string proxied(const std::string& query) const {
    return "redis://127.0.0.1:" + std::to_string(proxy_->port()) + "?" + query +
           (GetParam() ? "&pipeline_auto=on" : "&pipeline_auto=off");
  }
  Client make_client(const redis::RedisUrl& url) {
    auto c = Client::create(io_.executor(), url);
    if (!c) throw std::runtime_error(c.error().to_string());
    return std::move(*c);
  }
  // Reconnect backoff capped at 200 ms (not a URL option): recovery is then bounded by the
  // fault, not by a backoff grown during it.
  Client make_client(const std::string& url) {
    auto parsed = redis::RedisUrl::parse(url);
    if (!parsed) throw std::runtime_error(parsed.error().to_string());
    parsed->pool.reconnect_backoff_max = milliseconds(200);
    return make_client(*parsed);
  }
  // The counter as the server has it, read over a direct (unproxied) connection.
  long long server_count() {
    auto v = direct_->wait(direct_->get(key_));
    if (!v) throw std::runtime_error(v.error().to_string());
    return *v ? std::stoll(**v) : 0;
  }

  // Starts `n` INCR loops on `c`; the futures complete when load.stop is set.
  std::vector<std::future<void>> start_load(Client& c, IncrLoad& load, int n) {
    std::vector<std::future<void>> done;
    for (int i = 0; i < n; ++i) {
      done.push_back(asio::co_spawn(io_.context(), incr_loop(c, load), asio::use_future));
    }
    return done;
  }
  asio::awaitable<void> incr_loop(Client c, IncrLoad& load) {
    LiveCounter::Live alive(load.coroutines);
    const std::string key = key_;
    while (!load.stop.load()) {
      auto r = co_await c.incr(key);
      if (r) {
        ++load.ok;
        load.on_value(*r);
        if (load.fault_over.load() && load.recovered_ms.load() < 0) {
          long long expected = -1;
          load.recovered_ms.compare_exchange_strong(expected, ms_since(load.fault_over_at));
        }
        continue;
      }
      load.errors.add(r.error());
      asio::steady_timer pause(co_await asio::this_coro::executor, milliseconds(5));
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
  static void stop_and_join(IncrLoad& load, std::vector<std::future<void>>& done) {
    load.stop = true;
    for (auto& f : done) {
      if (f.valid()) f.get();
    }
  }
  static void end_fault(IncrLoad& load) {
    load.fault_over_at = steady_clock::now();
    load.fault_over = true;
  }

  // The pool is back where it started: min_size idle connections, nothing leased, waiting or
  // connecting, and exactly the file descriptors it had before the fault.
  void expect_settled(Client& c, std::size_t min_size, std::size_t fds_before) {
    const bool settled = eventually(
        [&] {
          const auto s = c.pool().stats();
          return s.total == min_size && s.idle == min_size && s.leases == 0 && s.waiting == 0 &&
                 s.connecting == 0 && open_fds() == fds_before;
        },
        15s);
    const auto s = c.pool().stats();
    EXPECT_TRUE(settled) << "total=" << s.total << " idle=" << s.idle << " leases=" << s.leases
                         << " waiting=" << s.waiting << " connecting=" << s.connecting
                         << " fds=" << open_fds() << " (before: " << fds_before << ")";
  }

  IoThreads io_{2};
  std::unique_ptr<FaultProxy> proxy_;
  std::optional<Client> direct_;
  std::string key_;
};

// Ops during a stall fail by their own deadlines, each error typed and naming the configured
// timeout; when the stall ends the pool heals to min_size and nothing leaked.
TEST_P(RedisFaults, StallFailsByDeadlinesThenRecovers) {
  Client c = make_client(proxied(
      "min_size=2&max_size=4&command_timeout=300ms&connect_timeout=400ms&acquire_timeout=1s&"
      "validate_after_idle=1h&health_check_interval=0&max_idle_time=1s"));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().idle == 2; }));
  ASSERT_TRUE(eventually([&] { return proxy_->active_connections() == 2; }));
  const std::size_t fds_before = open_fds();

  // An idle connection is trusted (validate_after_idle=1h), so the command goes out and only
  // the command deadline can end it.
  proxy_->stall(true);
  const auto t0 = steady_clock::now();
  auto first = c.wait(c.incr(key_));
  const auto first_ms = ms_since(t0);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), errc::timeout) << first.error().to_string();
  EXPECT_NE(first.error().message().find("command_timeout 300ms"), std::string::npos)
      << first.error().to_string();
  EXPECT_LT(first_ms, 3000) << "the 300ms command deadline was not enforced";

  // Load during the stall: every failure is one of the three deadlines, and says which.
  IncrLoad load;
  auto done = start_load(c, load, 8);
  OnExit join([&] { stop_and_join(load, done); });
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(load.ok.load(), 0) << "a command succeeded through a stalled proxy";
  EXPECT_GT(load.errors.total(), 0u);
  EXPECT_EQ(load.errors.others(errc::timeout, errc::connect_timeout, errc::acquire_timeout), "")
      << "errors other than deadlines during a stall";
  const auto summary = load.errors.summary();
  // The first message of each code carries its configured value.
  auto expect_names = [&](errc code, const std::string& text) {
    const auto sample = load.errors.sample(code);
    if (!sample.empty()) {
      EXPECT_NE(sample.find(text), std::string::npos) << sample;
    }
  };
  expect_names(errc::timeout, "command_timeout 300ms");
  expect_names(errc::connect_timeout, "400ms");
  expect_names(errc::acquire_timeout, "acquire timed out after 1s");

  proxy_->stall(false);
  end_fault(load);
  const long long ok_at_release = load.ok.load();
  EXPECT_TRUE(eventually([&] { return load.ok.load() > ok_at_release + 500; }, 20s))
      << "no recovery after the stall ended; errors:\n"
      << load.errors.summary();
  stop_and_join(load, done);
  EXPECT_EQ(load.coroutines.live.load(), 0) << "a load coroutine never finished";
  std::cout << "[stall] errors during the stall:\n"
            << summary << "[stall] first success " << load.recovered_ms.load()
            << " ms after the stall ended\n";

  // Every success is in the server's count; the rest of the count is commands that were in
  // flight when they timed out (each reported as an error): none lost, none applied twice.
  const long long count = server_count();
  const long long failed = static_cast<long long>(load.errors.total()) + 1;  // + `first`
  EXPECT_FALSE(load.duplicate) << "two INCRs returned the same value";
  EXPECT_GE(count, load.ok.load());
  EXPECT_LE(count, load.ok.load() + failed);
  std::cout << "[stall] ok=" << load.ok.load() << " failed=" << failed << " server count=" << count
            << " (timed out but applied: " << count - load.ok.load() << ")\n";

  expect_settled(c, 2, fds_before);
  EXPECT_TRUE(c.wait(c.ping()));
}

// Commands whose requests reached the server but whose replies were in the proxy when the
// connection was reset fail with io_error — all of them, and nothing else does. Commands
// issued after the reset succeed on fresh connections.
TEST_P(RedisFaults, ResetMidPipelineFailsExactlyTheInFlightCommands) {
  // min_size 8: with replies held, no new connection could finish its handshake, so every
  // in-flight command needs one that is already open (exclusive leases take 7).
  Client c = make_client(
      proxied("min_size=8&max_size=8&command_timeout=10s&connect_timeout=1s&acquire_timeout=5s&"
              "validate_after_idle=1h&health_check_interval=0&max_idle_time=1s"));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().idle == 8; }));
  ASSERT_TRUE(eventually([&] { return proxy_->active_connections() == 8; }));
  const std::size_t fds_before = open_fds();

  // Before: 100 INCRs, all fine.
  IncrLoad before;
  for (int i = 0; i < 100; ++i) {
    auto r = c.wait(c.incr(key_));
    ASSERT_TRUE(r) << r.error().to_string();
    before.on_value(*r);
  }
  ASSERT_EQ(server_count(), 100);

  // In flight: one pipeline of 50 INCRs plus 6 single INCRs, replies held by the proxy.
  constexpr int kPipelined = 50;
  constexpr int kSingles = 6;
  proxy_->stall_replies(true);
  auto pipelined = [&]() -> asio::awaitable<Result<std::vector<redis::Reply>>> {
    auto p = co_await c.pipeline();
    if (!p) co_return std::move(p).error();
    const std::string key = key_;
    const std::string_view incr = "INCR";
    for (int i = 0; i < kPipelined; ++i) {
      std::array<std::string_view, 2> args{incr, key};
      p->add(std::span<const std::string_view>(args));
    }
    co_return co_await p->exec();
  };
  auto batch = asio::co_spawn(io_.context(), pipelined(), asio::use_future);
  std::vector<std::future<Result<long long>>> singles;
  for (int i = 0; i < kSingles; ++i) {
    singles.push_back(asio::co_spawn(io_.context(), c.incr(key_), asio::use_future));
  }
  OnExit release([&] {
    proxy_->pass();
    proxy_->reset_all();
    if (batch.valid()) batch.wait();
    for (auto& f : singles) {
      if (f.valid()) f.wait();
    }
  });
  // Deterministic "in flight": the server has applied every one of them.
  ASSERT_TRUE(eventually([&] { return server_count() == 100 + kPipelined + kSingles; }))
      << "server count " << server_count();
  const auto connections_before_reset = proxy_->total_connections();
  // The client side of every connection the reset will hit (the pool's 8).
  const auto reset_sockets = client_sockets_to(proxy_->port());
  EXPECT_EQ(reset_sockets.size(), 8u);
  proxy_->reset_all();

  auto batch_result = batch.get();
  ASSERT_FALSE(batch_result) << "a pipeline whose connection was reset reported success";
  EXPECT_EQ(batch_result.error().code(), errc::io_error) << batch_result.error().to_string();
  int singles_failed = 0;
  for (auto& f : singles) {
    auto r = f.get();
    ASSERT_FALSE(r) << "an in-flight INCR reported success after its connection was reset";
    EXPECT_EQ(r.error().code(), errc::io_error) << r.error().to_string();
    ++singles_failed;
  }
  EXPECT_EQ(singles_failed, kSingles);
  proxy_->pass();
  // The reset also hit the idle connections: wait until every one of them saw the RST and
  // closed its socket, so that "after" really means after (a command racing the RST would be
  // in flight too).
  ASSERT_TRUE(eventually([&] { return all_closed(reset_sockets); }, 20s))
      << "a connection hit by the reset still holds its socket";

  // After: every command succeeds, on new connections through the proxy.
  IncrLoad after;
  auto done = start_load(c, after, 10);
  OnExit join([&] { stop_and_join(after, done); });
  ASSERT_TRUE(eventually([&] { return after.ok.load() >= 200; }, 20s));
  stop_and_join(after, done);
  EXPECT_EQ(after.errors.total(), 0u) << "commands issued after the reset failed:\n"
                                      << after.errors.summary();
  EXPECT_EQ(after.coroutines.live.load(), 0);
  EXPECT_GT(proxy_->total_connections(), connections_before_reset) << "no fresh connection";
  EXPECT_FALSE(after.duplicate);

  // The server applied exactly: the 100 before, the 56 in flight (reported as errors), and
  // every success after. Nothing was retried behind the caller's back.
  EXPECT_EQ(server_count(), 100 + kPipelined + kSingles + after.ok.load());
  for (long long v : after.values) EXPECT_GT(v, 100 + kPipelined + kSingles);
  std::cout << "[reset] in flight at the reset: " << kPipelined + kSingles
            << " commands (1 pipeline + " << kSingles << " singles), all failed with io_error; "
            << "after: " << after.ok.load() << " ok, " << after.errors.total() << " errors\n";

  expect_settled(c, 8, fds_before);
}

// The breaker opens while the backend is unreachable (fast circuit_open failures that name the
// next probe) and closes once it is back.
TEST_P(RedisFaults, BreakerOpensDuringOutageAndClosesAfter) {
  auto url = redis::RedisUrl::parse(
      proxied("min_size=2&max_size=4&command_timeout=500ms&connect_timeout=300ms&"
              "acquire_timeout=1s&validate_after_idle=1h&health_check_interval=0&"
              "max_idle_time=1s"));
  ASSERT_TRUE(url) << url.error().to_string();
  // A command's deadline is a real-time bound: under a sanitizer with CPU hogs (make stress)
  // a healthy server's reply sometimes took longer than 500 ms (1 run in 10 under TSan, load 18).
  url->command_timeout = test::scaled(milliseconds(500));
  auto& cb = url->pool.circuit_breaker;
  cb.enabled = true;
  cb.window_size = 10;
  cb.minimum_calls = 4;
  cb.failure_rate_threshold = 0.5;
  cb.open_duration = milliseconds(500);
  cb.half_open_calls = 2;
  url->pool.reconnect_backoff_max = milliseconds(200);
  Client c = make_client(*url);
  ASSERT_TRUE(eventually([&] { return c.pool().stats().idle == 2; }));
  ASSERT_TRUE(eventually([&] { return proxy_->active_connections() == 2; }));
  const std::size_t fds_before = open_fds();

  IncrLoad load;
  auto done = start_load(c, load, 4);
  OnExit join([&] {
    proxy_->pass();
    stop_and_join(load, done);
  });
  ASSERT_TRUE(eventually([&] { return load.ok.load() > 100; }));

  // Outage: every connection reset, every new one refused.
  proxy_->refuse(true);
  proxy_->reset_all();
  const auto outage_at = steady_clock::now();
  ASSERT_TRUE(eventually([&] {
    return c.pool().stats().circuit_state == core::CircuitState::open;
  })) << "the breaker never opened; errors:\n"
      << load.errors.summary();
  const auto opened_ms = ms_since(outage_at);
  ASSERT_TRUE(eventually([&] { return load.errors.count(errc::circuit_open) > 0; }));

  // While open, a call fails fast, typed, and says when the next probe is due. The breaker
  // turns half-open after open_duration (500 ms) and the load's calls take its probe slots, so
  // a slow test (ASan with CPU hogs: 1 run in 10) may first see the half-open rejection, which
  // names the probes it waits for; it then re-opens (the probes fail) and says when.
  std::optional<Error> fast;
  const auto give_up = steady_clock::now() + test::scaled(milliseconds(10000));
  while (!fast && steady_clock::now() < give_up) {
    auto r = c.wait(c.incr(key_));
    ASSERT_FALSE(r) << "a command succeeded during the outage";
    if (!r.error().is(errc::circuit_open)) continue;
    if (r.error().message().find("next probe in") != std::string::npos) {
      fast = r.error();
    } else {
      EXPECT_NE(r.error().message().find("waiting for the outcome of"), std::string::npos)
          << r.error().to_string();
    }
  }
  ASSERT_TRUE(fast) << "no open-state circuit_open failure naming the next probe";

  proxy_->refuse(false);
  end_fault(load);
  const long long ok_at_end = load.ok.load();
  EXPECT_TRUE(eventually(
      [&] {
        return c.pool().stats().circuit_state == core::CircuitState::closed &&
               load.ok.load() > ok_at_end + 200;
      },
      20s))
      << "the breaker did not close after the outage: "
      << core::to_string(c.pool().stats().circuit_state);
  stop_and_join(load, done);
  EXPECT_EQ(load.coroutines.live.load(), 0);
  EXPECT_EQ(load.errors.others(errc::circuit_open, errc::io_error, errc::connect_failed,
                               errc::connect_timeout, errc::acquire_timeout),
            "")
      << "unexpected error kinds during the outage";
  const auto s = c.pool().stats();
  EXPECT_GE(s.circuit_transitions, 3u) << "expected closed -> open -> half_open -> closed";
  EXPECT_GT(s.circuit_rejections, 0u);
  const long long count = server_count();
  EXPECT_FALSE(load.duplicate);
  EXPECT_GE(count, load.ok.load());
  EXPECT_LE(count, load.ok.load() + static_cast<long long>(load.errors.total()) + 50);
  std::cout << "[breaker] opened " << opened_ms << " ms after the outage began; first success "
            << load.recovered_ms.load() << " ms after it ended; rejections " << s.circuit_rejections
            << "; errors:\n"
            << load.errors.summary();

  expect_settled(c, 2, fds_before);
}

INSTANTIATE_TEST_SUITE_P(AutoPipelining, RedisFaults, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "on" : "off"; });

}  // namespace
}  // namespace connpool::faults
