// PoolStats: a consistent snapshot of one pool, taken under its lock.
#pragma once

#include "connpool/core/circuit_breaker.hpp"
#include "connpool/core/error.hpp"
#include "connpool/core/pool_config.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace connpool::core {

/// Why a connection was closed.
enum class CloseReason : std::uint8_t {
  idle,          ///< unused longer than max_idle_time
  lifetime,      ///< older than max_lifetime
  broken,        ///< discarded by its user or found unusable on return
  health_check,  ///< failed a background or borrow-time validation
  closed,        ///< the pool was closed
  detached,      ///< taken out of the pool with Lease::detach()
  shrink,        ///< removed by resize() / dynamic sizing
  retired,       ///< retired by Pool::retire_all() (e.g. the backend moved to a new address)
};
inline constexpr std::size_t kCloseReasonCount = 8;
std::string_view to_string(CloseReason r) noexcept;

/// Number of distinct connpool::errc values (for per-type counters).
inline constexpr std::size_t kErrcCount = static_cast<std::size_t>(errc::unknown) + 1;

/// Lifetime analytics: how long connections live and how much they are used.
struct LifetimeStats {
  using nanoseconds = std::chrono::nanoseconds;
  // Connections open now
  nanoseconds live_age_p50{0};
  nanoseconds live_age_max{0};
  std::uint64_t live_uses_p50 = 0;
  std::uint64_t live_uses_max = 0;
  // Connections closed since the pool started
  std::uint64_t closed = 0;
  nanoseconds closed_lifetime_mean{0};
  nanoseconds closed_lifetime_max{0};
  double closed_uses_mean = 0.0;
  /// Fraction of its life a closed connection spent carrying a lease (mean).
  double closed_busy_fraction_mean = 0.0;
};

/// One open connection, as the admin API lists it. No secrets: only bookkeeping.
struct ConnectionInfo {
  enum class State { idle, in_use, checking, draining };
  std::uint64_t id = 0;
  State state = State::idle;
  std::chrono::nanoseconds age{0};
  std::chrono::nanoseconds idle_for{0};  ///< since the last lease returned (0 while in use)
  std::uint64_t use_count = 0;
  std::chrono::nanoseconds busy_time{0};  ///< total time spent carrying leases
  std::size_t leases = 0;
  std::uint64_t errors = 0;  ///< failed validations and broken returns seen on it
};
std::string_view to_string(ConnectionInfo::State s) noexcept;

struct PoolStats {
  // Gauges
  std::size_t total = 0;       ///< open connections (idle + in use + being checked)
  std::size_t idle = 0;        ///< open connections carrying no lease
  std::size_t in_use = 0;      ///< open connections carrying at least one lease
  std::size_t connecting = 0;  ///< connections being opened
  std::size_t waiting = 0;     ///< acquirers queued for a connection
  std::size_t leases = 0;      ///< leases in flight (== in_use for exclusive pools)
  std::size_t min_size = 0;
  std::size_t max_size = 0;
  std::size_t max_leases_per_connection = 1;
  /// leases / (max_size * max_leases_per_connection): 0..1, how close to exhaustion.
  double utilization = 0.0;
  bool closed = false;

  // Counters since the pool was created
  std::uint64_t acquires = 0;          ///< successful acquires
  std::uint64_t acquire_timeouts = 0;  ///< acquires that failed with acquire_timeout
  std::uint64_t created = 0;           ///< connections opened
  std::uint64_t connect_failures = 0;  ///< connect attempts that failed or timed out
  std::array<std::uint64_t, kCloseReasonCount> closed_by_reason{};
  std::array<std::uint64_t, kErrcCount> errors_by_type{};  ///< indexed by errc
  std::uint64_t health_checks_ok = 0;
  std::uint64_t health_checks_failed = 0;
  std::uint64_t leaks_detected = 0;

  /// Wall-clock time and outcome of the newest health check, if any ran.
  std::optional<std::chrono::system_clock::time_point> last_health_check_at;
  bool last_health_check_ok = true;
  /// The newest connect error (message already free of secrets), if any since the last success.
  std::optional<Error> last_connect_error;
  /// The newest error of any kind the pool saw.
  std::optional<Error> last_error;

  // Circuit breaker (state closed when disabled)
  bool circuit_enabled = false;
  CircuitState circuit_state = CircuitState::closed;
  std::optional<std::chrono::system_clock::time_point> circuit_since;
  double circuit_failure_rate = 0.0;
  std::uint64_t circuit_transitions = 0;
  std::uint64_t circuit_rejections = 0;  ///< acquires failed fast with circuit_open

  // Sizing: the mode in effect and the size the pool currently aims for (== min_size when fixed)
  SizingMode sizing = SizingMode::fixed;
  std::size_t target_size = 0;
  /// Predictive sizing: the demand (connections) forecast `predictive.horizon` ahead; 0 in the
  /// other modes.
  double forecast = 0.0;
  /// Predictive sizing: acquires per second over the last sample interval; 0 in other modes.
  double acquire_rate = 0.0;

  LifetimeStats lifetimes;

  [[nodiscard]] std::uint64_t closed_total() const noexcept;
  [[nodiscard]] std::uint64_t closed_count(CloseReason r) const noexcept {
    return closed_by_reason[static_cast<std::size_t>(r)];
  }
  [[nodiscard]] std::uint64_t error_count(errc e) const noexcept {
    return errors_by_type[static_cast<std::size_t>(e)];
  }
};

}  // namespace connpool::core
