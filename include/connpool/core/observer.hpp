// PoolObserver: how monitoring learns what a pool does, without the core knowing about it.
#pragma once

#include "connpool/core/error.hpp"
#include "connpool/core/stats.hpp"

#include <chrono>
#include <source_location>

namespace connpool::core {

/// Receives a pool's events. All methods have no-op defaults; override what you need.
///
/// Thread safety: called from whichever thread runs the pool's work (several at once on a
/// multi-threaded io_context), never while the pool's lock is held, so an observer may call
/// Pool::stats(). Implementations must be thread-safe and cheap: they run on the acquire and
/// release paths.
class PoolObserver {
 public:
  using nanoseconds = std::chrono::nanoseconds;
  virtual ~PoolObserver() = default;

  /// A lease was handed out after waiting `wait` (0 when a connection was free).
  virtual void on_acquired(nanoseconds /*wait*/) {}
  /// A lease was returned after being held for `usage`.
  virtual void on_released(nanoseconds /*usage*/) {}
  /// An acquire failed with acquire_timeout after waiting `waited`.
  virtual void on_acquire_timeout(nanoseconds /*waited*/) {}
  /// A connection was opened in `connect_time`.
  virtual void on_created(nanoseconds /*connect_time*/) {}
  /// A connection was closed.
  virtual void on_destroyed(CloseReason /*reason*/) {}
  /// A validation (background or on borrow) finished.
  virtual void on_health_check(bool /*ok*/, nanoseconds /*duration*/) {}
  /// The pool saw an error (connect failure, timeout, broken connection, ...).
  virtual void on_error(const Error& /*error*/) {}
  /// A lease has been held longer than leak_detection_threshold (reported once per lease).
  virtual void on_leak_detected(nanoseconds /*held*/, const std::source_location& /*where*/) {}
  /// The circuit breaker changed state.
  virtual void on_circuit_state(CircuitState /*from*/, CircuitState /*to*/) {}
};

}  // namespace connpool::core
