// ReadQueue's stuck-read path (a failed read and no final status: cancel after a grace period),
// without gRPC: the queue is fed by hand as a reactor's callbacks would feed it.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224 (Asio frames)

#include "firestore/grpc_internal.hpp"  // the reactor types rpc_bridge.hpp builds on
#include "firestore/rpc_bridge.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace connpool::firestore::detail {
namespace {

using namespace std::chrono_literals;

struct Msg {
  std::string text;
  void Clear() { text.clear(); }
};

/// An io_context run by two threads, like the pool's, with a strand like a listener's.
class ReadQueueTest : public ::testing::Test {
 protected:
  ReadQueueTest() {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~ReadQueueTest() override {
    work_.reset();
    for (auto& t : threads_) t.join();
  }
  /// Waits until everything queued on the strand so far has run.
  void drain_strand() {
    std::promise<void> done;
    boost::asio::post(strand_, [&] { done.set_value(); });
    done.get_future().wait();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  boost::asio::strand<boost::asio::io_context::executor_type> strand_{io_.get_executor()};
  std::vector<std::thread> threads_;
  ReadQueue<Msg> q_;
  Msg buf_;
};

TEST_F(ReadQueueTest, AStuckReadIsCancelledAfterTheGraceAndEndsWithTheStatus) {
  buf_.text = "one";
  EXPECT_TRUE(q_.on_read(true, buf_, [] {}));  // queued; the reactor reads again
  q_.on_read(false, buf_, [] {});              // that read failed; no status follows by itself
  std::atomic<int> cancels{0};
  auto cancel = [this, &cancels] {
    ++cancels;  // as TryCancel would, end the call
    q_.on_done(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  };
  auto reader = [&]() -> boost::asio::awaitable<int> {
    int got = 0;
    while (auto m = co_await q_.next([] {}, [] {}, cancel)) {
      EXPECT_EQ(m->text, "one");
      ++got;
    }
    co_return got;
  };
  auto fut = boost::asio::co_spawn(strand_, reader(), boost::asio::use_future);
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get(), 1);
  EXPECT_EQ(cancels.load(), 1);
  EXPECT_EQ(q_.status().error_code(), grpc::StatusCode::CANCELLED);
}

// The cause of issue 19's stall and abort. The call ends (OnDone) just before the grace expires,
// while the strand is busy: the reader's wake-up and then the expired timer's handler queue on
// the strand. The reader runs first, destroys the timer (too late to stop a queued handler) and
// moves on; the driver then drops the call and gRPC frees it. The handler used to run next and
// call cancel() on the freed call (TryCancel and a mutex in freed memory: lost wake-ups, then
// std::system_error EINVAL in ListenerImpl::close). Now it must not call cancel() at all.
TEST_F(ReadQueueTest, TheGraceTimerNeverCancelsOnceTheReaderMovedOn) {
  q_.on_read(false, buf_, [] {});  // stuck: the grace timer (1 s) is armed by next()
  std::atomic<bool> reader_done{false};
  std::atomic<int> late{0};
  std::atomic<int> in_time{0};
  auto cancel = [&] { ++(reader_done ? late : in_time); };
  auto reader = [&]() -> boost::asio::awaitable<void> {
    while (co_await q_.next([] {}, [] {}, cancel)) {
    }
    reader_done = true;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto fut = boost::asio::co_spawn(strand_, reader(), boost::asio::use_future);
  std::this_thread::sleep_for(100ms);  // the reader waits; the grace expires at t0 + 1 s
  boost::asio::post(strand_, [] { std::this_thread::sleep_for(2s); });  // busy until t0 + 2.1 s
  std::this_thread::sleep_until(t0 + 500ms);
  q_.on_done(grpc::Status::OK);  // the call ends: the wake-up queues behind the busy handler
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  fut.get();
  drain_strand();  // the expired timer's handler has run by now
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2s) << "the strand was not busy as planned";
  EXPECT_EQ(late.load(), 0) << "the grace timer cancelled a call its reader had let go of";
  EXPECT_EQ(in_time.load(), 0);
}

}  // namespace
}  // namespace connpool::firestore::detail
