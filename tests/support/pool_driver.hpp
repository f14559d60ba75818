// Driving a pool from a test by hand: run an io_context until something is true, and start an
// acquire whose result can be looked at later. Header-only, so the pool-core tests (built
// without the rest of tests/support) can use it too.
#pragma once

#include "connpool/core/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace connpool::test {

/// Runs `io` until `done()` or until `limit` of real time passed; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// Where a spawned acquire leaves its result (empty until it completes).
template <class Pool>
using AcquireResult = std::shared_ptr<std::optional<Result<typename Pool::lease_type>>>;

/// Starts `pool.acquire()` (with `timeout` when given) on `io`; the result fills in when it
/// completes.
template <class Pool>
AcquireResult<Pool> spawn_acquire(boost::asio::io_context& io, Pool& pool,
                                  std::optional<std::chrono::milliseconds> timeout = {}) {
  auto out = std::make_shared<std::optional<Result<typename Pool::lease_type>>>();
  boost::asio::co_spawn(
      io,
      [&pool, out, timeout]() -> boost::asio::awaitable<void> {
        if (timeout) {
          auto r = co_await pool.acquire(*timeout);
          out->emplace(std::move(r));
        } else {
          auto r = co_await pool.acquire();
          out->emplace(std::move(r));
        }
      },
      boost::asio::detached);
  return out;
}

}  // namespace connpool::test
