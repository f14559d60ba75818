// PoolConfig: every policy knob of a pool, as a plain aggregate.
#pragma once

#include "connpool/core/circuit_breaker.hpp"
#include "connpool/core/demand_forecast.hpp"
#include "connpool/core/result.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace connpool::core {

using std::chrono::milliseconds;

/// Order in which idle connections are handed out.
enum class IdleOrder {
  lifo,  ///< most recently returned first: a small hot set, the rest age out (default)
  fifo,  ///< least recently returned first: spreads use over all connections
};

/// How the pool moves its size between min_size and max_size.
enum class SizingMode {
  /// min_size open, growth on demand up to max_size, shrink by max_idle_time only (default).
  fixed,
  /// Dynamic sizing: grow while busy, shrink after a quiet cooldown (DynamicSizingConfig).
  reactive,
  /// Forecast demand from the recent past and open connections for it before callers have to
  /// wait; close idle ones above the forecast once it falls (PredictiveSizingConfig).
  predictive,
};
std::string_view to_string(SizingMode m) noexcept;
/// "fixed" | "reactive" | "predictive" (exact, lowercase); nullopt otherwise.
std::optional<SizingMode> parse_sizing_mode(std::string_view text) noexcept;

/// Parameters of SizingMode::predictive. The forecaster (demand_forecast.hpp) is fed, every
/// `sample_interval`, the peak number of connections demanded since the previous sample (leases
/// plus waiters, per max_leases_per_connection); the pool's target is its forecast at `horizon`
/// plus `headroom`, within [min_size, max_size].
struct PredictiveSizingConfig {
  /// How often demand is sampled and the target recomputed. Default 100 ms. Must be > 0.
  milliseconds sample_interval{100};
  /// See ForecastConfig. Defaults 1000 ms, 3000 ms, 3000 ms, 0.2.
  milliseconds level_time_constant{1000};
  milliseconds trend_time_constant{3000};
  milliseconds horizon{3000};
  double headroom = 0.2;
  /// The target falls only after the forecast has stayed below it this long, so a dip between
  /// two bursts does not close connections the next burst needs. Default 5000 ms. 0 means:
  /// follow the forecast down at once.
  milliseconds scale_down_delay{5000};

  [[nodiscard]] ForecastConfig forecast() const {
    return {level_time_constant, trend_time_constant, horizon, headroom};
  }
  [[nodiscard]] Result<void> validate() const;
};

/// Optional policy that moves the pool's target size between min_size and max_size with load
/// (the model: Bigtable's DynamicChannelPool). The target acts as a raised min_size: the pool
/// pre-opens connections up to it and, after a burst, closes idle ones above it without waiting
/// for max_idle_time.
/// These are the parameters of SizingMode::reactive.
struct DynamicSizingConfig {
  /// Deprecated: set PoolConfig::sizing = SizingMode::reactive instead. true still selects
  /// reactive sizing when `sizing` is left at fixed.
  bool enabled = false;
  /// Grow when leases / (open connections x max_leases_per_connection) reach this, or when
  /// anyone waits. Default 0.75. Range (0, 1].
  double scale_up_utilization = 0.75;
  /// Shrink when that ratio stays at or below this. Default 0.25. Range [0, scale_up).
  double scale_down_utilization = 0.25;
  /// Minimum time between two growth steps. Default 1000 ms.
  milliseconds scale_up_cooldown{1000};
  /// Minimum time after any change before a shrink step. Default 30000 ms.
  milliseconds scale_down_cooldown{30000};
  /// Connections added per growth step. Default 2. Must be >= 1.
  std::size_t scale_up_step = 2;
  /// Connections removed per shrink step. Default 1. Must be >= 1.
  std::size_t scale_down_step = 1;

  [[nodiscard]] Result<void> validate() const;
};

/// Pool policy. Plain aggregate; `validate()` checks the rules between fields.
/// Every duration is in milliseconds unless stated.
struct PoolConfig {
  /// Connections opened at start and kept open; idle eviction never goes below it.
  /// Default 0 (open lazily). 0 means: no warm-up.
  std::size_t min_size = 0;
  /// Hard cap on connections open *or being opened*. Default 10. Must be >= 1.
  std::size_t max_size = 10;
  /// Idle connections the pool tries to keep ready beyond those in use (HikariCP minimumIdle),
  /// capped by max_size. Default 0: no idle reserve beyond min_size.
  std::size_t min_idle = 0;

  /// How long acquire() waits for a connection before failing with errc::acquire_timeout.
  /// Default 5000 ms. 0 means: never wait, fail at once when nothing is free.
  milliseconds acquire_timeout{5000};
  /// How long opening one connection may take (errc::connect_timeout). Default 5000 ms.
  /// Must be > 0.
  milliseconds connect_timeout{5000};
  /// How long one validation (health check or borrow check) may take
  /// (errc::validation_timeout). Default 2000 ms. Must be > 0.
  milliseconds validation_timeout{2000};

  /// Idle connections above min_size unused for longer than this are closed.
  /// Default 600000 ms (10 min, as the original system). 0 means: never close for idleness.
  milliseconds max_idle_time{600000};
  /// Connections older than this are retired: when idle, or when the last lease returns; never
  /// while leased. Default 1800000 ms (30 min). 0 means: no lifetime limit.
  milliseconds max_lifetime{1800000};
  /// Each connection's lifetime is shortened by a random fraction up to this, so connections
  /// opened together do not expire together. Default 0.1. 0 means: no jitter. Range [0, 0.5].
  double max_lifetime_jitter = 0.1;

  /// Interval between background validations of each idle connection. Default 30000 ms (the
  /// original system's Redis setting). 0 means: no background health checks.
  milliseconds health_check_interval{30000};
  /// On borrow, a connection unused for longer than this is validated first; one used more
  /// recently is trusted (HikariCP's 500 ms rule). Default 500 ms. 0 means: validate on every
  /// borrow.
  milliseconds validate_after_idle{500};

  /// A lease held longer than this is reported once as a probable leak (log + counter +
  /// observer), with where it was acquired. Default 0. 0 means: leak detection off.
  milliseconds leak_detection_threshold{0};

  /// Reconnect backoff after a failed connect: the first retry waits `initial`, each further
  /// failure multiplies the wait by `multiplier` up to `max`; `jitter` is the random share of
  /// each wait: it is uniform in [wait * (1 - jitter), wait] (core::Backoff). Defaults 100 ms,
  /// 10000 ms, 2.0, 0.2. `initial` 0 means: retry at once.
  milliseconds reconnect_backoff_initial{100};
  milliseconds reconnect_backoff_max{10000};
  double reconnect_backoff_multiplier = 2.0;
  double reconnect_backoff_jitter = 0.2;
  /// While the pool has fewer than min_size connections (the server went away), no wait between
  /// connect attempts is longer than this, so a returning server is found within it whatever
  /// reconnect_backoff_max says. Default 1000 ms. 0 means: no cap beyond reconnect_backoff_max.
  milliseconds min_size_backoff_cap{1000};

  /// Which idle connection acquire() takes. Default lifo.
  IdleOrder idle_order = IdleOrder::lifo;

  /// Leases one connection may carry at once. 1 (default) is an exclusive pool; > 1 shares a
  /// connection among independent operations of multiplexed protocols (gRPC streams on one
  /// channel, pipelined Redis commands). Must be >= 1.
  std::size_t max_leases_per_connection = 1;

  /// Fail fast while the backend is failing. Off by default. See circuit_breaker.hpp.
  CircuitBreakerConfig circuit_breaker;
  /// How the pool size follows load. Default fixed.
  SizingMode sizing = SizingMode::fixed;
  /// Parameters of reactive sizing (and its deprecated switch `enabled`).
  DynamicSizingConfig dynamic_sizing;
  /// Parameters of predictive sizing.
  PredictiveSizingConfig predictive;

  /// The mode in effect: `sizing`, or reactive when only the deprecated
  /// dynamic_sizing.enabled is set.
  [[nodiscard]] SizingMode sizing_mode() const noexcept {
    return sizing == SizingMode::fixed && dynamic_sizing.enabled ? SizingMode::reactive : sizing;
  }

  /// Checks the rules between fields. The error (errc::invalid_config) names the field and the
  /// rule, e.g. "min_size (30) > max_size (20)".
  [[nodiscard]] Result<void> validate() const;
};

/// "250ms", "30s", "10m", "1h", "0" -> milliseconds; an error names the text and the rule.
Result<milliseconds> parse_duration(std::string_view text);
/// The shortest exact form: 250ms, 30s, 10m.
std::string format_duration(milliseconds d);

}  // namespace connpool::core
