// The least a coroutine pool can do, as a like-for-like reference for the pool core: a deque of
// idle connections and a FIFO of waiting completion handlers, on one executor, no lock. No
// timeouts, no lifetimes, no observer, no shared leases, no leak detection, no cross-thread use.
// Whatever the pool core costs above this is the price of those features.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <memory>
#include <vector>

namespace connpool::bench {

template <class Conn>
class MinimalCoroutinePool {
 public:
  MinimalCoroutinePool(boost::asio::any_io_executor executor, std::size_t size)
      : executor_(std::move(executor)) {
    for (std::size_t i = 0; i < size; ++i) {
      owned_.push_back(std::make_unique<Conn>());
      idle_.push_back(owned_.back().get());
    }
  }

  /// A free connection at once (no suspension), or the caller queues (FIFO) until release()
  /// hands it one. Same shape as Pool::acquire(): one awaitable frame per call.
  boost::asio::awaitable<Conn*> acquire() {
    if (!idle_.empty()) {
      Conn* c = idle_.front();
      idle_.pop_front();
      co_return c;
    }
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                   void(Conn*)>(
        [this](auto handler) { waiters_.emplace_back(std::move(handler)); },
        boost::asio::use_awaitable);
  }

  void release(Conn* c) {
    if (waiters_.empty()) {
      idle_.push_back(c);
      return;
    }
    auto handler = std::move(waiters_.front());
    waiters_.pop_front();
    // One executor for everything: the waiter resumes there, never inside release().
    boost::asio::post(executor_, [h = std::move(handler), c]() mutable { std::move(h)(c); });
  }

 private:
  boost::asio::any_io_executor executor_;
  std::vector<std::unique_ptr<Conn>> owned_;
  std::deque<Conn*> idle_;
  std::deque<boost::asio::any_completion_handler<void(Conn*)>> waiters_;
};

}  // namespace connpool::bench
