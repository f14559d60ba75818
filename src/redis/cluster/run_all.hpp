// Runs several coroutines concurrently and collects their results in order. Internal.
//
// Not asio::experimental::make_parallel_group over a range: with Boost 1.81 on a multi-threaded
// io_context its launch loop can read the range after an operation completed on another thread
// and the group was destroyed (AddressSanitizer: heap-use-after-free). Here each operation is
// co_spawned on its own, stores its result in its slot and signals a thread-safe channel; the
// caller receives one signal per operation.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <utility>
#include <vector>

namespace connpool::redis::cluster::detail {

/// Awaits every operation; results[i] belongs to ops[i]. The operations must not throw (ours
/// report failures through Result); one that does leaves a default-constructed result.
template <class T>
boost::asio::awaitable<std::vector<T>> run_all(std::vector<boost::asio::awaitable<T>> ops) {
  namespace asio = boost::asio;
  using Channel =
      asio::experimental::concurrent_channel<void(boost::system::error_code, std::size_t)>;
  struct Join {
    Join(asio::any_io_executor ex, std::size_t n) : done(ex, n), results(n) {}
    Channel done;
    std::vector<T> results;
  };
  auto executor = co_await asio::this_coro::executor;
  const std::size_t count = ops.size();
  auto join = std::make_shared<Join>(executor, count);
  for (std::size_t i = 0; i < count; ++i) {
    asio::co_spawn(executor, std::move(ops[i]), [join, i](std::exception_ptr, T value) {
      join->results[i] = std::move(value);
      // Capacity == count, so this never blocks or fails.
      join->done.try_send(boost::system::error_code{}, i);
    });
  }
  for (std::size_t received = 0; received < count; ++received) {
    auto [ec, index] = co_await join->done.async_receive(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    (void)index;
  }
  co_return std::move(join->results);
}

}  // namespace connpool::redis::cluster::detail
