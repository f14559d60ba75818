// Demand forecasting for predictive pool sizing: Holt's linear exponential smoothing (a level
// and a trend), made time-aware so samples taken at irregular maintenance ticks weigh by the
// time they cover. The pool feeds it the peak demand it saw since the last sample (connections
// in use plus those waiters need) and opens connections for forecast(horizon) before callers
// have to wait for a connect.
//
// No I/O, no clock of its own: time is an argument, so tests drive it with any sequence.
// Thread safety: none; the pool engine calls it under its lock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

namespace connpool::core {

struct ForecastConfig {
  /// How fast the level follows the samples: the weight of older samples halves about every
  /// 0.7 x this. Default 1000 ms. Must be > 0.
  std::chrono::milliseconds level_time_constant{1000};
  /// How fast the trend follows the level's slope. Longer ignores noise, shorter catches ramps
  /// sooner. Default 3000 ms. Must be > 0.
  std::chrono::milliseconds trend_time_constant{3000};
  /// How far ahead the pool sizes for: about the time it takes to open a connection and then
  /// some. Default 3000 ms. Must be > 0.
  std::chrono::milliseconds horizon{3000};
  /// Extra share on top of the forecast, for noise. Default 0.2 (20 %). Range [0, 10].
  double headroom = 0.2;
};

[[nodiscard]] inline std::optional<std::string> forecast_config_problem(const ForecastConfig& c) {
  if (c.level_time_constant.count() <= 0) return "level_time_constant must be > 0";
  if (c.trend_time_constant.count() <= 0) return "trend_time_constant must be > 0";
  if (c.horizon.count() <= 0) return "horizon must be > 0";
  if (!(c.headroom >= 0.0 && c.headroom <= 10.0)) return "headroom must be in [0, 10]";
  return std::nullopt;
}

class DemandForecaster {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit DemandForecaster(ForecastConfig config = {}) : config_(config) {}

  /// Records the demand (in connections) observed up to `now`.
  void observe(TimePoint now, double demand) {
    demand = std::max(0.0, demand);
    if (!started_) {
      started_ = true;
      level_ = demand;
      trend_ = 0.0;
      last_ = now;
      return;
    }
    const double dt = seconds(now - last_);
    if (dt <= 0.0) {
      // Same instant: keep the larger demand, the level must not miss a peak.
      level_ = std::max(level_, demand);
      return;
    }
    const double a = 1.0 - std::exp(-dt / seconds(config_.level_time_constant));
    const double b = 1.0 - std::exp(-dt / seconds(config_.trend_time_constant));
    const double predicted = level_ + trend_ * dt;
    // Demand is never negative; a steep fall must not carry the level below zero.
    const double level = std::max(0.0, predicted + a * (demand - predicted));
    trend_ += b * ((level - level_) / dt - trend_);
    level_ = level;
    last_ = now;
  }

  /// Demand expected `ahead` after the last sample (never negative).
  [[nodiscard]] double forecast(std::chrono::nanoseconds ahead) const {
    if (!started_) return 0.0;
    return std::max(0.0, level_ + trend_ * seconds(ahead));
  }

  /// Connections to have open now: the forecast at the horizon, or the current level if that is
  /// higher (a falling trend shrinks slowly, through the level), plus headroom, rounded up.
  [[nodiscard]] std::size_t target() const {
    if (!started_) return 0;
    const double want = std::max(forecast(config_.horizon), level_) * (1.0 + config_.headroom);
    // The small epsilon keeps 2.0000000001 from becoming 3.
    return static_cast<std::size_t>(std::ceil(std::max(0.0, want - 1e-9)));
  }

  [[nodiscard]] double level() const noexcept { return level_; }
  /// Connections per second.
  [[nodiscard]] double trend() const noexcept { return trend_; }
  [[nodiscard]] bool started() const noexcept { return started_; }
  [[nodiscard]] const ForecastConfig& config() const noexcept { return config_; }

 private:
  template <class D>
  static double seconds(D d) {
    return std::chrono::duration<double>(d).count();
  }

  ForecastConfig config_;
  bool started_ = false;
  double level_ = 0.0;
  double trend_ = 0.0;
  TimePoint last_{};
};

}  // namespace connpool::core
