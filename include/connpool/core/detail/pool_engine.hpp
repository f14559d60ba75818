// The non-template heart of Pool<C>: all policy and bookkeeping, compiled once in
// src/core/pool_engine.cpp. Pool<C> adapts a typed Connector onto ConnectorOps.
// Not part of the public API.
#pragma once

#include "connpool/core/clock.hpp"
#include "connpool/core/connector.hpp"
#include "connpool/core/observer.hpp"
#include "connpool/core/pool_config.hpp"
#include "connpool/core/result.hpp"
#include "connpool/core/stats.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::core {

class RawLease;

enum class LogLevel { debug, info, warning, error };

/// Identity and plumbing of a pool that is not policy.
struct PoolOptions {
  /// Shown in stats, logs, metrics labels and the admin API.
  std::string name = "default";
  /// Backend label ("redis", "firestore", ...).
  std::string backend = "generic";
  /// Endpoint for display, secrets already redacted.
  std::string target;
  /// The member of a multi-node backend this pool serves ("host:port" of a Redis Cluster node),
  /// empty for a pool of a single endpoint. Such pools are named "<pool>@<node>"; metrics split
  /// that into the labels `pool` and `node` (docs/monitoring.md).
  std::string node;
  /// Receives pool events; null means none.
  std::shared_ptr<PoolObserver> observer;
  /// For clients that open more than one pool from one PoolOptions (Redis opens
  /// "<name>-exclusive" for stateful work, a cluster client one pool per node): makes the
  /// observer of each further pool from that pool's own options (name, backend, node), so its
  /// events are not counted as the first pool's. Null: further pools get no observer.
  std::function<std::shared_ptr<PoolObserver>(const PoolOptions& pool)> observer_factory;
  /// Time source; null means the steady clock. Tests pass a ManualClock.
  std::shared_ptr<const Clock> clock;
  /// Seed for jitter (lifetimes, backoff); 0 means seeded from the system.
  std::uint64_t seed = 0;
  /// Log sink for what an operator should see: connect failures, failed health checks, leaks.
  /// Called outside the pool's lock, from any thread. Null means: leak warnings go to stderr,
  /// nothing else is logged.
  std::function<void(LogLevel, std::string_view)> logger;
};

namespace detail {

/// A type-erased owning pointer to a connection; its deleter closes the connection.
using OwnedConnection = std::unique_ptr<void, std::function<void(void*)>>;

/// A Connector with its type erased. connect and validate receive the deadline they must keep
/// (the pool never cancels them).
struct ConnectorOps {
  std::function<boost::asio::awaitable<Result<OwnedConnection>>(Deadline)> connect;
  std::function<boost::asio::awaitable<Result<void>>(void*, Deadline)> validate;
  /// The connector's recycle(), called on every acquire and return: a plain function pointer
  /// with the connector as its first argument, so the hot path makes one indirect call and no
  /// std::function dispatch. `connector` keeps that argument alive as long as the engine.
  bool (*recycle)(void* connector, void* conn) noexcept = nullptr;
  std::shared_ptr<void> connector;
  /// Optional (the connector's watch()): asks the connector to call back once, from any
  /// thread, when the connection dies (e.g. the server closed it while it sat idle). Null: the
  /// pool learns of a death only from a health check or a failed lease.
  std::function<void(void*, std::function<void(const Error&)>)> watch;
};

struct Slot;

/// Lifetime: owned through shared_ptr by its Pool and its background tasks. Leases hold a raw
/// pointer; to let a lease outlive its Pool, the owner must close the engine (close_now() or
/// close()) before dropping it, as Pool does: a closed engine with leases out keeps itself
/// alive until the last one is returned.
class PoolEngine {
 public:
  static std::shared_ptr<PoolEngine> create(boost::asio::any_io_executor executor,
                                            PoolConfig config, ConnectorOps ops,
                                            PoolOptions options);
  virtual ~PoolEngine() = default;

  virtual boost::asio::awaitable<Result<RawLease>> acquire(std::optional<milliseconds> timeout,
                                                           std::source_location where) = 0;
  virtual std::optional<RawLease> try_acquire(std::source_location where) = 0;
  /// acquire()'s shortcut: as try_acquire(), but nothing when acquire() has more to do (the
  /// circuit breaker is on). Saves the engine's coroutine frame when a connection is free.
  /// An empty lease (not an optional: one move less on the hot path) when it declines.
  virtual RawLease acquire_fast(std::source_location where) = 0;
  virtual boost::asio::awaitable<void> close(std::chrono::nanoseconds drain_timeout) = 0;
  virtual void close_now() noexcept = 0;
  [[nodiscard]] virtual PoolStats stats() const = 0;
  [[nodiscard]] virtual std::vector<ConnectionInfo> connections() const = 0;
  virtual void run_maintenance() = 0;
  virtual Result<void> resize(std::size_t min_size, std::size_t max_size) = 0;
  virtual void retire_all() noexcept = 0;
  [[nodiscard]] virtual PoolConfig config() const = 0;
  [[nodiscard]] virtual const PoolOptions& options() const noexcept = 0;
  [[nodiscard]] virtual boost::asio::any_io_executor executor() const = 0;
  /// Empty when the internal bookkeeping is consistent, else what is wrong (tests, debugging).
  [[nodiscard]] virtual std::string check_invariants() const = 0;

  // Used by RawLease.
  /// `call_failed`: the lease's call failed because of the backend (the circuit breaker counts
  /// a failure) although the connection itself is reusable.
  virtual void release(Slot* slot, std::uint64_t token, bool broken, bool call_failed) noexcept = 0;
  virtual OwnedConnection detach(Slot* slot, std::uint64_t token) noexcept = 0;
  virtual void mark_broken(Slot* slot) noexcept = 0;
  static void* connection_of(const Slot* slot) noexcept;
};

}  // namespace detail
}  // namespace connpool::core
