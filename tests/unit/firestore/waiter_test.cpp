// The place a queued call's result arrives (firestore/batch/waiter.hpp), without gRPC: a result
// set before or after the caller awaits, set from another thread, set twice (the first wins),
// and a cancelled wait that answers itself while the batch's later answer is dropped.
#include "firestore/batch/waiter.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

namespace connpool::firestore::detail {
namespace {

using W = Waiter<int>;

boost::asio::awaitable<Result<int>> await_it(std::shared_ptr<W> w) {
  // A named local: GCC 12 destroys a lambda built inside a co_await expression twice (here a
  // shared_ptr released twice).
  std::function<void()> on_cancel = [raw = w.get()] {
    raw->set(Error(errc::cancelled, "cancelled"));
  };
  co_return co_await w->wait(std::move(on_cancel));
}

TEST(WaiterTest, AResultSetBeforeTheWaitIsDeliveredAtOnce) {
  boost::asio::io_context io;
  auto w = std::make_shared<W>();
  w->set(7);
  auto f = boost::asio::co_spawn(io, await_it(w), boost::asio::use_future);
  io.run();
  auto r = f.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
}

TEST(WaiterTest, AResultSetFromAnotherThreadResumesTheWaiterOnItsExecutorAndTheFirstWins) {
  boost::asio::io_context io;
  auto w = std::make_shared<W>();
  auto f = boost::asio::co_spawn(io, await_it(w), boost::asio::use_future);
  io.poll();  // the coroutine now waits; nothing else keeps io busy but its work guard
  std::thread other([w] {
    w->set(1);
    w->set(2);  // ignored
  });
  io.run();  // returns once the waiter was resumed (its work guard released)
  other.join();
  auto r = f.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1);
}

TEST(WaiterTest, ACancelledWaitEndsWithItsOwnErrorAndALaterResultIsDropped) {
  boost::asio::io_context io;
  auto w = std::make_shared<W>();
  boost::asio::cancellation_signal cancel;
  auto f = boost::asio::co_spawn(
      io, await_it(w), boost::asio::bind_cancellation_slot(cancel.slot(), boost::asio::use_future));
  io.poll();  // the coroutine now waits
  // Emitted on the io_context's only thread while it does not run: the executor's own thread.
  cancel.emit(boost::asio::cancellation_type::terminal);
  io.run();
  w->set(5);  // the batch's answer, after the caller gave up: dropped
  auto r = f.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::cancelled) << r.error().to_string();
}

}  // namespace
}  // namespace connpool::firestore::detail
