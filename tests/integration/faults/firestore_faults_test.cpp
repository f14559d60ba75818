// Firestore through the fault proxy, against the real emulator: a stall makes calls fail by
// their deadline (typed, naming call_timeout) and the pool recovers; an RST fails exactly the
// writes in flight (an increment counter read over a direct channel proves none was lost
// silently or applied twice); the circuit breaker opens during an outage and closes after it;
// no socket, lease or coroutine leaks.
#include "connpool/firestore/firestore.hpp"

#include "integration/faults/fault_test_util.hpp"
#include "support/fault_proxy.hpp"
#include "support/firestore_emulator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace connpool::faults {
namespace {

namespace asio = boost::asio;
namespace fs = connpool::firestore;
using connpool::testing::FaultProxy;
using connpool::testing::FirestoreEmulator;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

long long ms_since(steady_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - t).count();
}

class Io {
 public:
  explicit Io(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~Io() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::thread> threads_;
};

// Coroutines calling one operation in a loop until told to stop.
struct Load {
  std::atomic<bool> stop{false};
  std::atomic<long long> ok{0};
  std::atomic<long long> circuit_open{0};  // failures whose message is the breaker's
  ErrorTally errors;
  LiveCounter coroutines;
  std::atomic<bool> fault_over{false};
  std::atomic<long long> recovered_ms{-1};
  steady_clock::time_point fault_over_at;

  void succeeded() {
    ++ok;
    if (fault_over.load() && recovered_ms.load() < 0) {
      long long expected = -1;
      recovered_ms.compare_exchange_strong(expected, ms_since(fault_over_at));
    }
  }
  void failed(const Error& e) {
    errors.add(e);
    if (e.message().find("circuit_open") != std::string::npos) ++circuit_open;
  }
  void end_fault() {
    fault_over_at = steady_clock::now();
    fault_over = true;
  }
};

asio::awaitable<void> read_loop(fs::Client c, Load& load) {
  LiveCounter::Live alive(load.coroutines);
  while (!load.stop.load()) {
    auto r = co_await c.get_document("faults", "seed");
    if (r) {
      load.succeeded();
      continue;
    }
    load.failed(r.error());
    asio::steady_timer pause(co_await asio::this_coro::executor, milliseconds(10));
    co_await pause.async_wait(asio::use_awaitable);
  }
}

class FirestoreFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = FirestoreEmulator::shared();
    ASSERT_NE(emulator_, nullptr) << "the Firestore emulator did not start";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    project_ = std::string("faults-") + info->name();
    for (auto& ch : project_) ch = static_cast<char>(std::isalnum(ch) ? std::tolower(ch) : '-');
    // The direct client (no proxy) seeds data, warms the emulator's JVM and reads the truth.
    fs::FirestoreOptions o;
    o.project_id = project_;
    o.emulator_host = emulator_->host();
    o.call_timeout = milliseconds(30000);
    auto d = fs::Client::create(io_.io().get_executor(), o);
    ASSERT_TRUE(d) << d.error().to_string();
    direct_.emplace(*d);
    auto seeded = direct_->blocking().set_document("faults", "seed", fs::Map{{"v", 1}});
    ASSERT_TRUE(seeded) << seeded.error().to_string();
    proxy_ =
        std::make_unique<FaultProxy>("127.0.0.1", static_cast<std::uint16_t>(emulator_->port()));
  }
  void TearDown() override {
    if (direct_) direct_->pool().close_blocking(std::chrono::seconds(5));
  }

  // Options of a client that goes through the proxy.
  fs::FirestoreOptions proxied(milliseconds call_timeout) const {
    fs::FirestoreOptions o;
    o.project_id = project_;
    o.emulator_host = "127.0.0.1:" + std::to_string(proxy_->port());
    o.call_timeout = call_timeout;
    o.max_reconnect_backoff = milliseconds(200);
    return o;
  }
  static core::PoolConfig pool_config() {
    auto cfg = fs::default_pool_config();
    cfg.min_size = 1;
    cfg.max_size = 2;
    cfg.max_idle_time = milliseconds(1000);
    cfg.reconnect_backoff_max = milliseconds(200);
    return cfg;
  }
  fs::Client make_client(const fs::FirestoreOptions& o, const core::PoolConfig& cfg) {
    auto c = fs::Client::create(io_.io().get_executor(), o, cfg);
    if (!c) throw std::runtime_error(c.error().to_string());
    return *c;
  }
  std::int64_t server_count(const std::string& id) {
    auto d = direct_->blocking().get_document("counters", id);
    if (!d) throw std::runtime_error(d.error().to_string());
    if (!*d) return 0;
    const auto* v = (*d)->get("n");
    return v && v->get_if<std::int64_t>() ? *v->get_if<std::int64_t>() : -1;
  }

  static void stop_and_join(Load& load, std::vector<std::future<void>>& done) {
    load.stop = true;
    for (auto& f : done) {
      if (f.valid()) f.get();
    }
  }
  std::vector<std::future<void>> start_reads(fs::Client& c, Load& load, int n) {
    std::vector<std::future<void>> done;
    for (int i = 0; i < n; ++i) {
      done.push_back(asio::co_spawn(io_.io(), read_loop(c, load), asio::use_future));
    }
    return done;
  }

  // Back to min_size with nothing leased or waiting, and the file descriptors of before.
  static void expect_settled(fs::Client& c, std::size_t min_size, std::size_t fds_before) {
    const bool settled = eventually(
        [&] {
          const auto s = c.pool().stats();
          return s.total == min_size && s.leases == 0 && s.waiting == 0 && s.connecting == 0 &&
                 open_fds() == fds_before;
        },
        20s);
    const auto s = c.pool().stats();
    EXPECT_TRUE(settled) << "total=" << s.total << " leases=" << s.leases
                         << " waiting=" << s.waiting << " connecting=" << s.connecting
                         << " fds=" << open_fds() << " (before: " << fds_before << ")";
  }

  Io io_{2};
  FirestoreEmulator* emulator_ = nullptr;
  std::string project_;
  std::optional<fs::Client> direct_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FirestoreFaults, StallFailsByCallDeadlineThenRecovers) {
  auto options = proxied(milliseconds(1000));
  options.retry.max_attempts = 3;
  auto cfg = pool_config();
  cfg.validate_after_idle = std::chrono::hours(1);
  cfg.health_check_interval = milliseconds(0);
  fs::Client c = make_client(options, cfg);
  ASSERT_TRUE(c.blocking().get_document("faults", "seed"));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().total == 1; }));
  const std::size_t fds_before = open_fds();

  proxy_->stall(true);
  auto first = c.blocking().get_document("faults", "seed");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), errc::deadline_exceeded) << first.error().to_string();
  EXPECT_NE(first.error().message().find("call_timeout 1s"), std::string::npos)
      << "the error does not name the configured deadline: " << first.error().to_string();

  Load load;
  auto done = start_reads(c, load, 8);
  OnExit join([&] {
    proxy_->pass();
    stop_and_join(load, done);
  });
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(load.ok.load(), 0) << "a call succeeded through a stalled proxy";
  EXPECT_GT(load.errors.count(errc::deadline_exceeded), 0u) << load.errors.summary();
  EXPECT_EQ(load.errors.others(errc::deadline_exceeded), "") << "not a deadline error";

  proxy_->stall(false);
  load.end_fault();
  const long long ok_at_end = load.ok.load();
  EXPECT_TRUE(eventually([&] { return load.ok.load() > ok_at_end + 200; }, 30s))
      << "no recovery after the stall ended; errors:\n"
      << load.errors.summary();
  stop_and_join(load, done);
  EXPECT_EQ(load.coroutines.live.load(), 0) << "a load coroutine never finished";
  std::cout << "[stall] errors during the stall:\n"
            << load.errors.summary() << "[stall] first success " << load.recovered_ms.load()
            << " ms after the stall ended\n";
  expect_settled(c, 1, fds_before);
  c.pool().close_blocking(std::chrono::seconds(5));
}

// Increments whose requests reached the emulator but whose responses were held in the proxy
// fail when the connection is reset — all of them — and are not retried (writes never are);
// increments issued afterwards succeed. Each increment is its own Commit here: with
// auto-batching, writes beyond max_in_flight (4) would wait in the client's queue for one of the
// stalled ones to end, and never reach the server while its replies are held.
TEST_F(FirestoreFaults, ResetFailsExactlyTheInFlightWrites) {
  auto options = proxied(milliseconds(15000));
  options.auto_batch.enabled = false;
  fs::Client c = make_client(options, pool_config());
  ASSERT_TRUE(c.blocking().get_document("faults", "seed"));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().total == 1; }));
  const std::size_t fds_before = open_fds();

  auto increment = [&]() {
    std::vector<fs::FieldTransform> t{fs::FieldTransform::increment("n", fs::Value(1))};
    return c.transform_document("counters", "c", std::move(t));
  };
  for (int i = 0; i < 20; ++i) {
    auto r = c.blocking().transform_document("counters", "c",
                                             {fs::FieldTransform::increment("n", fs::Value(1))});
    ASSERT_TRUE(r) << r.error().to_string();
  }
  ASSERT_EQ(server_count("c"), 20);

  constexpr int kInFlight = 16;
  proxy_->stall_replies(true);
  std::vector<std::future<Result<fs::WriteResult>>> in_flight;
  for (int i = 0; i < kInFlight; ++i) {
    in_flight.push_back(asio::co_spawn(io_.io(), increment(), asio::use_future));
  }
  OnExit release([&] {
    proxy_->pass();
    proxy_->reset_all();
    for (auto& f : in_flight) {
      if (f.valid()) f.wait();
    }
  });
  ASSERT_TRUE(eventually([&] { return server_count("c") == 20 + kInFlight; }, 20s))
      << "server count " << server_count("c");
  const auto connections_before = proxy_->total_connections();
  proxy_->reset_all();
  ErrorTally failed;
  for (auto& f : in_flight) {
    auto r = f.get();
    ASSERT_FALSE(r) << "an in-flight write reported success after its connection was reset";
    failed.add(r.error());
  }
  EXPECT_EQ(failed.total(), static_cast<std::size_t>(kInFlight));
  EXPECT_EQ(failed.others(errc::unavailable), "") << failed.summary();
  proxy_->pass();

  std::atomic<int> after_ok{0};
  ErrorTally after_errors;
  for (int i = 0; i < 50; ++i) {
    auto r = c.blocking().transform_document("counters", "c",
                                             {fs::FieldTransform::increment("n", fs::Value(1))});
    if (r) {
      ++after_ok;
    } else {
      after_errors.add(r.error());
    }
  }
  EXPECT_EQ(after_errors.total(), 0u) << "writes issued after the reset failed:\n"
                                      << after_errors.summary();
  EXPECT_GT(proxy_->total_connections(), connections_before) << "no fresh connection";
  EXPECT_EQ(server_count("c"), 20 + kInFlight + after_ok.load())
      << "a write was lost or applied twice";
  std::cout << "[reset] " << kInFlight << " writes in flight at the reset, all failed:\n"
            << failed.summary() << "[reset] after: " << after_ok.load() << " ok, "
            << after_errors.total() << " errors\n";
  expect_settled(c, 1, fds_before);
  c.pool().close_blocking(std::chrono::seconds(5));
}

TEST_F(FirestoreFaults, BreakerOpensDuringOutageAndClosesAfter) {
  auto options = proxied(milliseconds(2000));
  options.retry.max_attempts = 1;
  auto cfg = pool_config();
  cfg.health_check_interval = milliseconds(200);
  cfg.connect_timeout = milliseconds(1000);
  cfg.acquire_timeout = milliseconds(1000);
  auto& cb = cfg.circuit_breaker;
  cb.enabled = true;
  cb.window_size = 10;
  cb.minimum_calls = 4;
  cb.failure_rate_threshold = 0.5;
  cb.open_duration = milliseconds(500);
  cb.half_open_calls = 2;
  fs::Client c = make_client(options, cfg);
  ASSERT_TRUE(c.blocking().get_document("faults", "seed"));
  ASSERT_TRUE(eventually([&] { return c.pool().stats().total == 1; }));
  const std::size_t fds_before = open_fds();

  Load load;
  auto done = start_reads(c, load, 4);
  OnExit join([&] {
    proxy_->pass();
    stop_and_join(load, done);
  });
  ASSERT_TRUE(eventually([&] { return load.ok.load() > 100; }, 30s));

  proxy_->refuse(true);
  proxy_->reset_all();
  const auto outage_at = steady_clock::now();
  const bool opened =
      eventually([&] { return c.pool().stats().circuit_state == core::CircuitState::open; }, 15s);
  const auto opened_ms = ms_since(outage_at);
  EXPECT_TRUE(opened) << "the breaker never opened during the outage; failure rate "
                      << c.pool().stats().circuit_failure_rate << "; errors:\n"
                      << load.errors.summary();
  if (opened) {
    EXPECT_TRUE(eventually([&] { return load.circuit_open.load() > 0; })) << load.errors.summary();
    std::optional<Error> fast;
    for (int i = 0; i < 50 && !fast; ++i) {
      auto r = c.blocking().get_document("faults", "seed");
      ASSERT_FALSE(r) << "a call succeeded during the outage";
      if (r.error().message().find("circuit_open") != std::string::npos) fast = r.error();
    }
    ASSERT_TRUE(fast) << "no circuit_open failure while the breaker is open";
    EXPECT_EQ(fast->code(), errc::unavailable) << fast->to_string();
    EXPECT_NE(fast->message().find("next probe in"), std::string::npos) << fast->to_string();
  }

  proxy_->refuse(false);
  load.end_fault();
  const long long ok_at_end = load.ok.load();
  EXPECT_TRUE(eventually(
      [&] {
        return c.pool().stats().circuit_state == core::CircuitState::closed &&
               load.ok.load() > ok_at_end + 200;
      },
      30s))
      << "no recovery after the outage: circuit "
      << core::to_string(c.pool().stats().circuit_state);
  stop_and_join(load, done);
  EXPECT_EQ(load.coroutines.live.load(), 0);
  EXPECT_EQ(load.errors.others(errc::unavailable, errc::deadline_exceeded, errc::acquire_timeout),
            "");
  const auto s = c.pool().stats();
  std::cout << "[breaker] opened " << (opened ? opened_ms : -1)
            << " ms after the outage began; first success " << load.recovered_ms.load()
            << " ms after it ended; transitions " << s.circuit_transitions << ", rejections "
            << s.circuit_rejections << "; errors:\n"
            << load.errors.summary();
  EXPECT_GE(s.circuit_transitions, 3u);
  expect_settled(c, 1, fds_before);
  c.pool().close_blocking(std::chrono::seconds(5));
}

}  // namespace
}  // namespace connpool::faults
