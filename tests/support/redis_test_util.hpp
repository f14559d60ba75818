// Small helpers for Redis integration tests: an io_context running on its own threads, and a
// way to run one coroutine to completion from the test thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <thread>
#include <utility>
#include <vector>

namespace connpool::test {

/// An io_context run by `threads` threads until destruction (which stops and joins them).
class IoThreads {
 public:
  explicit IoThreads(int threads = 1) : work_(ctx_.get_executor()) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ctx_.run(); });
  }
  ~IoThreads() {
    work_.reset();
    ctx_.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context& context() noexcept { return ctx_; }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }

  /// Runs `op` on the io_context and waits for its result (test thread only).
  template <class T>
  T run(boost::asio::awaitable<T> op) {
    return boost::asio::co_spawn(ctx_, std::move(op), boost::asio::use_future).get();
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace connpool::test
