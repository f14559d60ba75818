// PoolStats: a consistent snapshot of one pool, taken under its lock.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "connpool/core/error.hpp"

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
};
inline constexpr std::size_t kCloseReasonCount = 7;
std::string_view to_string(CloseReason r) noexcept;

/// Number of distinct connpool::errc values (for per-type counters).
inline constexpr std::size_t kErrcCount = static_cast<std::size_t>(errc::unknown) + 1;

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
  std::uint64_t acquires = 0;           ///< successful acquires
  std::uint64_t acquire_timeouts = 0;   ///< acquires that failed with acquire_timeout
  std::uint64_t created = 0;            ///< connections opened
  std::uint64_t connect_failures = 0;   ///< connect attempts that failed or timed out
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

  [[nodiscard]] std::uint64_t closed_total() const noexcept;
  [[nodiscard]] std::uint64_t closed_count(CloseReason r) const noexcept {
    return closed_by_reason[static_cast<std::size_t>(r)];
  }
  [[nodiscard]] std::uint64_t error_count(errc e) const noexcept {
    return errors_by_type[static_cast<std::size_t>(e)];
  }
};

}  // namespace connpool::core
