// Pool<C>: a generic connection pool over any Connector (see connector.hpp).
//
// Threading model (docs/adr/0001-async-model.md):
// - The pool runs its background work (warm-up, connects, health checks, eviction, timeouts) on
//   the executor given at creation. That executor may be an io_context run by several threads.
// - acquire() is a coroutine for use on any executor; acquire_blocking() is for threads that are
//   *not* running the pool's io_context (it waits on a future and would deadlock there).
// - stats(), try_acquire(), close_now() and lease destruction are safe from any thread.
// - One internal mutex guards the bookkeeping; it is never held across I/O or user callbacks.
// - Completions are delivered through each caller's own executor. On an io_context run by
//   several threads, a coroutine that cancels acquire() (e.g. `acquire() || timer`) must run on a
//   strand, as Asio requires of every operation that uses per-operation cancellation.
#pragma once

#include "connpool/core/connector.hpp"
#include "connpool/core/detail/pool_engine.hpp"
#include "connpool/core/lease.hpp"
#include "connpool/core/pool_config.hpp"
#include "connpool/core/stats.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <source_location>
#include <utility>

namespace connpool::core {

template <Connector C>
class Pool {
 public:
  using connector_type = C;
  using connection_type = typename C::connection_type;
  using lease_type = Lease<connection_type>;

  /// Validates `config` (errc::invalid_config names the field) and starts the pool: warm-up to
  /// min_size and the background maintenance begin at once on `executor`.
  static Result<Pool> create(boost::asio::any_io_executor executor, C connector, PoolConfig config,
                             PoolOptions options = {}) {
    if (auto valid = config.validate(); !valid) return std::move(valid).error();
    auto shared = std::make_shared<C>(std::move(connector));
    auto engine = detail::PoolEngine::create(std::move(executor), config, make_ops(shared),
                                             std::move(options));
    return Pool(std::move(shared), std::move(engine));
  }

  Pool(Pool&&) noexcept = default;
  Pool& operator=(Pool&& other) noexcept {
    if (this != &other) {
      if (engine_) engine_->close_now();
      connector_ = std::move(other.connector_);
      engine_ = std::move(other.engine_);
    }
    return *this;
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  /// Closes without waiting (close_now()); outstanding leases stay valid.
  /// Order with the io_context: close the pool (close(), close_blocking() or close_now()) while
  /// its io_context exists; a closed pool may then be destroyed after the io_context.
  ~Pool() {
    if (engine_) engine_->close_now();
  }

  /// Waits up to config().acquire_timeout for a connection.
  /// Errors: acquire_timeout (the message gives the pool's state and the last connect error),
  /// pool_closed, cancelled (per-operation cancellation, e.g. from `||` in awaitable operators).
  boost::asio::awaitable<Result<lease_type>> acquire(
      std::source_location where = std::source_location::current()) {
    if (auto free = engine_->acquire_fast(where); free.valid())
      co_return lease_type(std::move(free));
    auto raw = co_await engine_->acquire(std::nullopt, where);
    if (!raw) co_return std::move(raw).error();
    co_return lease_type(std::move(*raw));
  }
  /// As acquire(), with this call's own timeout.
  boost::asio::awaitable<Result<lease_type>> acquire(
      milliseconds timeout, std::source_location where = std::source_location::current()) {
    if (auto free = engine_->acquire_fast(where); free.valid())
      co_return lease_type(std::move(free));
    auto raw = co_await engine_->acquire(timeout, where);
    if (!raw) co_return std::move(raw).error();
    co_return lease_type(std::move(*raw));
  }
  /// acquire()'s shortcut on its own, without acquire()'s coroutine frame: a free connection
  /// that needs no validation (or a shared one in use), or nothing when acquire() would have to
  /// take its full path (then call acquire()). Never waits, never does I/O. For callers that
  /// pay for every frame on their hot path (the Redis client's commands).
  std::optional<lease_type> acquire_ready(
      std::source_location where = std::source_location::current()) {
    auto free = engine_->acquire_fast(where);
    if (!free.valid()) return std::nullopt;
    return lease_type(std::move(free));
  }
  /// A free connection that needs no validation, or nothing; never waits, never does I/O.
  std::optional<lease_type> try_acquire(
      std::source_location where = std::source_location::current()) {
    auto raw = engine_->try_acquire(where);
    if (!raw) return std::nullopt;
    return lease_type(std::move(*raw));
  }
  /// Blocking form of acquire(). Must not be called from a thread running the pool's executor.
  Result<lease_type> acquire_blocking(
      std::source_location where = std::source_location::current()) {
    auto fut = boost::asio::co_spawn(engine_->executor(), engine_->acquire(std::nullopt, where),
                                     boost::asio::use_future);
    auto raw = fut.get();
    if (!raw) return std::move(raw).error();
    return lease_type(std::move(*raw));
  }

  /// Graceful drain: stop handing out, wake every waiter with pool_closed, wait up to
  /// `drain_timeout` for leases to come back, close everything. Calling it again is harmless.
  boost::asio::awaitable<void> close(std::chrono::nanoseconds drain_timeout) {
    return engine_->close(drain_timeout);
  }
  /// Blocking form of close(); same rule as acquire_blocking().
  void close_blocking(std::chrono::nanoseconds drain_timeout) {
    boost::asio::co_spawn(engine_->executor(), engine_->close(drain_timeout),
                          boost::asio::use_future)
        .get();
  }
  /// Closes without waiting for leases; they close their connections when returned.
  void close_now() noexcept { engine_->close_now(); }

  /// Changes min_size and max_size of a live pool (dynamic sizing); excess idle connections are
  /// closed, leased ones when they come back.
  Result<void> resize(std::size_t min_size, std::size_t max_size) {
    return engine_->resize(min_size, max_size);
  }

  /// Replaces every connection without closing the pool, e.g. after a failover moved the
  /// backend: idle connections close now, leased ones when returned (never reused), and
  /// connects already in flight are closed when they complete (they may have resolved the old
  /// address). Waiters keep waiting and are served by fresh connections, so work that has not
  /// been sent yet is not lost. The connect backoff starts over (earlier failures were against
  /// the old backend). Counted as CloseReason::retired.
  void retire_all() noexcept { engine_->retire_all(); }

  [[nodiscard]] PoolStats stats() const { return engine_->stats(); }
  /// One record per open connection (age, uses, busy time, state): lifetime analytics.
  [[nodiscard]] std::vector<ConnectionInfo> connections() const { return engine_->connections(); }
  [[nodiscard]] PoolConfig config() const { return engine_->config(); }
  [[nodiscard]] const PoolOptions& options() const noexcept { return engine_->options(); }
  [[nodiscard]] const std::string& name() const noexcept { return engine_->options().name; }
  [[nodiscard]] boost::asio::any_io_executor executor() const { return engine_->executor(); }
  [[nodiscard]] C& connector() noexcept { return *connector_; }

  /// Runs one round of housekeeping now (eviction, lifetimes, health checks, timeouts, leak
  /// detection, refilling). The pool does this by itself on a timer; tests with a ManualClock
  /// call it after advancing time.
  void run_maintenance() { engine_->run_maintenance(); }

  /// Empty when the pool's internal bookkeeping is consistent (sizes within bounds, no leaked
  /// slot, no waiter left behind while a connection is free); otherwise a description. Takes the
  /// lock once; meant for tests and debugging.
  [[nodiscard]] std::string check_invariants() const { return engine_->check_invariants(); }

 private:
  Pool(std::shared_ptr<C> connector, std::shared_ptr<detail::PoolEngine> engine)
      : connector_(std::move(connector)), engine_(std::move(engine)) {}

  static detail::ConnectorOps make_ops(const std::shared_ptr<C>& connector) {
    detail::ConnectorOps ops;
    ops.connect =
        [connector](Deadline deadline) -> boost::asio::awaitable<Result<detail::OwnedConnection>> {
      // A connector without a deadline parameter must bound its connect by itself.
      auto r = co_await [&] {
        if constexpr (requires { connector->connect(deadline); }) {
          return connector->connect(deadline);
        } else {
          return connector->connect();
        }
      }();
      if (!r) co_return std::move(r).error();
      co_return detail::OwnedConnection(r->release(), [connector](void* p) {
        auto* conn = static_cast<connection_type*>(p);
        connector->close(*conn);
        delete conn;
      });
    };
    ops.validate = [connector](void* p, Deadline deadline) {
      auto& conn = *static_cast<connection_type*>(p);
      if constexpr (requires { connector->validate(conn, deadline); }) {
        return connector->validate(conn, deadline);
      } else {
        return connector->validate(conn);
      }
    };
    if constexpr (requires(connection_type & conn, std::function<void(const Error&)> callback) {
                    connector->watch(conn, std::move(callback));
                  }) {
      ops.watch = [connector](void* p, std::function<void(const Error&)> callback) {
        connector->watch(*static_cast<connection_type*>(p), std::move(callback));
      };
    }
    ops.recycle = [](void* c, void* p) noexcept {
      return static_cast<C*>(c)->recycle(*static_cast<connection_type*>(p));
    };
    ops.connector = connector;
    return ops;
  }

  std::shared_ptr<C> connector_;
  std::shared_ptr<detail::PoolEngine> engine_;
};

}  // namespace connpool::core
