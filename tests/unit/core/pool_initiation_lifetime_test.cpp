// acquire()'s initiation must keep the engine alive until it returns (ADR 0001, the initiation
// rule). Found by UBSan under ASan (docs/RELIABILITY.md, the second ASan+UBSan run): the
// initiation called `self->enqueue_waiter(...)` through its capture, but with use_awaitable the
// initiation object lives in the awaiting coroutine's frame. enqueue_waiter posts the waiter's
// completion, another io thread resumes the acquirer, which finishes and destroys that frame;
// with the Pool handle gone too, the capture was the engine's last owner, and enqueue_waiter
// went on in Engine::run() on a destroyed engine. The fix calls through a local copy.
//
// Checked here without a sanitizer, deterministically: a 2-thread io_context, an acquire with no
// time left (so enqueue_waiter completes it with acquire_timeout and then tells the observer),
// and an observer that, on the initiating thread inside Engine::run(), waits until the other
// thread has finished the acquirer, dropped the Pool and destroyed every frame. Then it asks
// whether the engine still exists (its connector, owned only by the engine by then, holds a
// token the test watches). With the old initiation it is gone at that point, every time.
#include "connpool/core/pool.hpp"

#include "support/sanitizer_factor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace connpool::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct NoConnection {};

/// Never asked to connect here (min_size 0, and the acquire has no time to wait for one); it
/// only carries `token`, so the test can tell when the engine that owns it is destroyed.
class TokenConnector {
 public:
  using connection_type = NoConnection;
  explicit TokenConnector(std::shared_ptr<int> token) : token_(std::move(token)) {}

  asio::awaitable<Result<std::unique_ptr<NoConnection>>> connect(core::Deadline) {
    co_return Error(errc::connect_failed, "TokenConnector never connects");
  }
  asio::awaitable<Result<void>> validate(NoConnection&, core::Deadline) { co_return ok(); }
  bool recycle(NoConnection&) noexcept { return true; }
  void close(NoConnection&) noexcept {}

 private:
  std::shared_ptr<int> token_;
};

/// What the two threads tell each other.
struct Rendezvous {
  std::mutex mu;
  std::condition_variable cv;
  bool acquirer_finished = false;  // set by the co_spawn completion: every frame is gone
  bool observer_waited = false;    // on_acquire_timeout ran and saw acquirer_finished
  bool engine_gone_inside_run = false;
  std::thread::id observer_thread, finishing_thread;
};

/// Blocks the initiating thread inside Engine::run() (events are told after the completion is
/// posted) until the acquirer has finished on the other thread, then records whether the engine
/// running this very call still exists.
class BlockingObserver : public core::PoolObserver {
 public:
  BlockingObserver(Rendezvous& r, std::weak_ptr<int> engine_token)
      : r_(r), engine_token_(std::move(engine_token)) {}

  void on_acquire_timeout(std::chrono::nanoseconds) override {
    std::unique_lock lock(r_.mu);
    r_.observer_thread = std::this_thread::get_id();
    if (!r_.cv.wait_for(lock, test::scaled(10s), [&] { return r_.acquirer_finished; })) return;
    r_.observer_waited = true;
    r_.engine_gone_inside_run = engine_token_.expired();
  }

 private:
  Rendezvous& r_;
  std::weak_ptr<int> engine_token_;
};

/// Takes the last Pool handle: when this coroutine's frame goes, so does the Pool.
asio::awaitable<bool> acquire_with_no_time_left(core::Pool<TokenConnector> pool) {
  auto lease = co_await pool.acquire(0ms);
  co_return !lease && lease.error().code() == errc::acquire_timeout;
}

TEST(PoolInitiationLifetime, TheEngineOutlivesAcquiresInitiationWhenTheAcquirerFinishesFirst) {
  Rendezvous r;
  auto token = std::make_shared<int>(0);
  const std::weak_ptr<int> engine_token = token;
  auto observer = std::make_shared<BlockingObserver>(r, engine_token);

  asio::io_context ioc(2);
  core::PoolConfig config;
  config.min_size = 0;
  config.max_size = 1;
  core::PoolOptions options;
  options.name = "initiation-lifetime";
  options.observer = observer;  // the test keeps its own reference: it outlives the engine
  auto pool = core::Pool<TokenConnector>::create(ioc.get_executor(),
                                                 TokenConnector(std::move(token)), config, options);
  ASSERT_TRUE(pool) << pool.error().to_string();

  bool timed_out = false;
  // The only handle moves into the acquirer (a moved-from Pool holds nothing).
  asio::co_spawn(ioc, acquire_with_no_time_left(std::move(*pool)),
                 [&](std::exception_ptr e, bool result) {
                   // co_spawn calls this after the coroutine's frames (and the Pool) are gone.
                   std::lock_guard lock(r.mu);
                   timed_out = !e && result;
                   r.acquirer_finished = true;
                   r.finishing_thread = std::this_thread::get_id();
                   r.cv.notify_all();
                 });
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  for (auto& t : threads) t.join();

  EXPECT_TRUE(timed_out) << "the acquire must fail with acquire_timeout (no time to wait)";
  ASSERT_TRUE(r.observer_waited)
      << "the observer on the initiating thread never saw the acquirer finish";
  EXPECT_NE(r.observer_thread, r.finishing_thread)
      << "the acquirer must finish on the other io thread while the initiation is still running";
  EXPECT_FALSE(r.engine_gone_inside_run)
      << "the engine was destroyed while acquire()'s initiation was still running in it "
         "(Engine::enqueue_waiter -> run()): the initiation must hold its own owner";
  EXPECT_TRUE(engine_token.expired()) << "the engine must be freed once everything is done";
}

}  // namespace
}  // namespace connpool::testing
