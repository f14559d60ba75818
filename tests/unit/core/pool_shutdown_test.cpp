// Shutting down with work in flight: a pool closed (its handle gone) and then its io_context
// destroyed while a connect or a health check is still running must free everything, the
// engine and the connector included. Found by LeakSanitizer (make sanitize-asan): a connect
// waited on through DeadlineRace kept the waiter's handler, which held the awaiting coroutine,
// which held the race and the engine; the io_context destroyed the timer and the operation
// without running them, so nothing ever broke that cycle. Checked here without a sanitizer:
// the connector (owned by the engine) must be destroyed along with the io_context.
#include "connpool/core/pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

namespace connpool::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct HangCounters {
  std::atomic<int> connects{0}, validations{0};
};

struct HangConnection {};

/// Connects at once (or never, with hang_connect) and validates never: every operation that
/// does not finish waits an hour on a timer, so the io_context holds it when it is destroyed.
class HangingConnector {
 public:
  using connection_type = HangConnection;
  HangingConnector(std::shared_ptr<HangCounters> c, bool hang_connect)
      : c_(std::move(c)), hang_connect_(hang_connect) {}

  asio::awaitable<Result<std::unique_ptr<HangConnection>>> connect(core::Deadline) {
    ++c_->connects;
    if (hang_connect_) co_await hang();
    co_return std::make_unique<HangConnection>();
  }
  asio::awaitable<Result<void>> validate(HangConnection&, core::Deadline) {
    ++c_->validations;
    co_await hang();
    co_return ok();
  }
  bool recycle(HangConnection&) noexcept { return true; }
  void close(HangConnection&) noexcept {}

 private:
  static asio::awaitable<void> hang() {
    asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::shared_ptr<HangCounters> c_;
  bool hang_connect_;
};

core::PoolConfig hanging_config() {
  core::PoolConfig config;
  config.min_size = 1;
  config.max_size = 1;
  config.connect_timeout = 1h;  // the pool's own timer is pending too
  config.validation_timeout = 1h;
  config.health_check_interval = 1ms;
  config.validate_after_idle = 0ms;
  return config;
}

/// Runs a pool until `started` holds, drops the pool, then destroys the io_context with the
/// operation still pending. Returns whether the engine (seen through its counters, which only
/// the connector holds) was freed.
template <class Started>
bool engine_freed_after_shutdown(bool hang_connect, Started started) {
  auto counters = std::make_shared<HangCounters>();
  const std::weak_ptr<HangCounters> watch = counters;
  const HangCounters* seen = counters.get();  // alive while the pool is: its connector owns it
  {
    std::optional<asio::io_context> ioc(std::in_place);
    {
      auto pool = core::Pool<HangingConnector>::create(
          ioc->get_executor(), HangingConnector(std::move(counters), hang_connect),
          hanging_config());
      EXPECT_TRUE(pool) << pool.error().to_string();
      if (!pool) return false;
      const auto limit = std::chrono::steady_clock::now() + 10s;
      while (!started(*seen) && std::chrono::steady_clock::now() < limit) {
        ioc->run_for(5ms);
      }
      EXPECT_TRUE(started(*seen)) << "the operation never started";
    }  // the pool handle closes the pool; the operation is still running
    ioc.reset();
  }
  return watch.expired();
}

TEST(PoolShutdown, DestroyingTheIoContextDuringAConnectFreesThePool) {
  EXPECT_TRUE(engine_freed_after_shutdown(
      /*hang_connect=*/true, [](const HangCounters& c) { return c.connects.load() > 0; }));
}

TEST(PoolShutdown, DestroyingTheIoContextDuringAHealthCheckFreesThePool) {
  EXPECT_TRUE(engine_freed_after_shutdown(
      /*hang_connect=*/false, [](const HangCounters& c) { return c.validations.load() > 0; }));
}

}  // namespace
}  // namespace connpool::testing
