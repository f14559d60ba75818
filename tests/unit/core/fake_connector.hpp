// A scripted connector for pool-core unit tests: each connect/validate does what the script says
// (ok, fail, slow, never completes), and the script counts what happened.
#pragma once

#include "connpool/core/connector.hpp"
#include "connpool/core/observer.hpp"

#include "support/pool_driver.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace connpool::testing {

// never: waits until the deadline (as a connector that keeps it does), then times out.
// overrun: ignores the deadline and succeeds slow_delay after it (the pool's safety net must
// stop waiting, and close what arrives late).
enum class Step { ok, fail, slow, never, overrun };

struct FakeConnection {
  int id = 0;
  std::atomic<bool> broken{false};

  /// The server side went away (as a Redis reader seeing EOF): broken, and the watcher is told.
  void die(const Error& why) {
    std::function<void(const Error&)> callback;
    {
      std::lock_guard lock(mu);
      broken = true;
      callback = std::exchange(on_death, nullptr);
    }
    if (callback) callback(why);
  }
  void watch(std::function<void(const Error&)> callback) {
    {
      std::lock_guard lock(mu);
      if (!broken) {
        on_death = std::move(callback);
        return;
      }
    }
    callback(Error(errc::io_error, "connection already broken"));
  }

 private:
  std::mutex mu;
  std::function<void(const Error&)> on_death;
};

/// Shared, thread-safe script and counters.
struct Script {
  std::mutex mu;
  std::deque<Step> connects;     // consumed first; then default_connect
  std::deque<Step> validations;  // consumed first; then default_validate
  Step default_connect = Step::ok;
  Step default_validate = Step::ok;
  std::chrono::milliseconds slow_delay{20};
  std::string fail_message = "connection refused";

  std::atomic<int> connect_calls{0};
  std::atomic<int> validate_calls{0};
  std::atomic<int> open{0};      // connections alive right now
  std::atomic<int> max_open{0};  // high-water mark of `open`
  std::atomic<int> closed{0};
  std::atomic<int> next_id{1};

  /// Kills every open connection, as a server killed with SIGKILL would (their watchers fire).
  /// Returns how many died.
  int kill_all() {
    std::lock_guard lock(live_mu);
    for (FakeConnection* conn : live) conn->die(Error(errc::io_error, "connection reset by peer"));
    return static_cast<int>(live.size());
  }
  void add_live(FakeConnection* conn) {
    std::lock_guard lock(live_mu);
    live.insert(conn);
  }
  void remove_live(FakeConnection* conn) {
    std::lock_guard lock(live_mu);
    live.erase(conn);
  }

 private:
  std::mutex live_mu;
  std::set<FakeConnection*> live;

 public:
  Step next_connect() {
    std::lock_guard lock(mu);
    if (connects.empty()) return default_connect;
    Step s = connects.front();
    connects.pop_front();
    return s;
  }
  Step next_validate() {
    std::lock_guard lock(mu);
    if (validations.empty()) return default_validate;
    Step s = validations.front();
    validations.pop_front();
    return s;
  }
  void set_default_connect(Step s) {
    std::lock_guard lock(mu);
    default_connect = s;
  }
  void set_default_validate(Step s) {
    std::lock_guard lock(mu);
    default_validate = s;
  }
};

class FakeConnector {
 public:
  using connection_type = FakeConnection;
  explicit FakeConnector(std::shared_ptr<Script> script) : script_(std::move(script)) {}

  boost::asio::awaitable<Result<std::unique_ptr<FakeConnection>>> connect(core::Deadline deadline) {
    ++script_->connect_calls;
    const Step step = script_->next_connect();
    if (co_await wait(step, deadline) == Waited::deadline) {
      co_return Error(errc::connect_timeout,
                      "connect timed out after " + core::format_duration(deadline.budget));
    }
    if (step == Step::fail) co_return Error(errc::connect_failed, script_->fail_message);
    auto conn = std::make_unique<FakeConnection>();
    conn->id = script_->next_id++;
    script_->add_live(conn.get());
    const int now_open = ++script_->open;
    int seen = script_->max_open.load();
    while (now_open > seen && !script_->max_open.compare_exchange_weak(seen, now_open)) {
    }
    co_return conn;
  }

  boost::asio::awaitable<Result<void>> validate(FakeConnection& conn, core::Deadline deadline) {
    ++script_->validate_calls;
    const Step step = script_->next_validate();
    if (co_await wait(step, deadline) == Waited::deadline) {
      co_return Error(errc::validation_timeout,
                      "validation timed out after " + core::format_duration(deadline.budget));
    }
    if (step == Step::fail || conn.broken) {
      co_return Error(errc::validation_failed, "PING failed");
    }
    co_return ok();
  }

  bool recycle(FakeConnection& conn) noexcept { return !conn.broken; }
  void watch(FakeConnection& conn, std::function<void(const Error&)> callback) {
    conn.watch(std::move(callback));
  }
  /// Like a real connection, closing it fires its watcher (the pool must ignore that).
  void close(FakeConnection& conn) noexcept {
    script_->remove_live(&conn);
    conn.die(Error(errc::io_error, "connection closed"));
    --script_->open;
    ++script_->closed;
  }

 private:
  enum class Waited { done, deadline };
  // slow: a short real delay; never: until the deadline; overrun: past it. The timer runs on a
  // strand of its own, as a real connection's I/O does, so the pool's waiting and this
  // operation's completion happen on different threads of a multi-threaded io_context.
  boost::asio::awaitable<Waited> wait(Step step, core::Deadline deadline) {
    if (step != Step::slow && step != Step::never && step != Step::overrun) co_return Waited::done;
    auto strand = boost::asio::make_strand(co_await boost::asio::this_coro::executor);
    boost::asio::steady_timer timer(strand);
    if (step == Step::slow) {
      timer.expires_after(script_->slow_delay);
    } else if (step == Step::never) {
      timer.expires_at(deadline.at);
    } else {
      timer.expires_at(deadline.at + script_->slow_delay);
    }
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return step == Step::never ? Waited::deadline : Waited::done;
  }
  std::shared_ptr<Script> script_;
};

static_assert(core::Connector<FakeConnector>);

/// Counts every observer event; thread-safe.
struct RecordingObserver : core::PoolObserver {
  std::atomic<int> acquired{0}, released{0}, timeouts{0}, created{0}, destroyed{0}, checks_ok{0},
      checks_failed{0}, errors{0}, leaks{0};
  std::mutex mu;
  std::string last_leak_file;
  void on_acquired(nanoseconds) override { ++acquired; }
  void on_released(nanoseconds) override { ++released; }
  void on_acquire_timeout(nanoseconds) override { ++timeouts; }
  void on_created(nanoseconds) override { ++created; }
  void on_destroyed(core::CloseReason) override { ++destroyed; }
  void on_health_check(bool ok, nanoseconds) override { ++(ok ? checks_ok : checks_failed); }
  void on_error(const Error&) override { ++errors; }
  void on_leak_detected(nanoseconds, const std::source_location& where) override {
    ++leaks;
    std::lock_guard lock(mu);
    last_leak_file = where.file_name();
  }
};

using connpool::test::run_until;

/// Runs every handler that is ready now (no waiting).
inline void drain(boost::asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

}  // namespace connpool::testing
