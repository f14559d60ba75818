// Pool sizing per SizingMode: which policy moves the target each maintenance tick, and the
// predictive policy itself (the reactive one, scale_locked, lives with the other maintenance).
//
// The target acts as a raised min_size: plan_connects_locked opens connections up to it, so
// growth obeys max_size, the connect backoff (one probe at a time while connects fail) and the
// circuit breaker (nothing opens while it is open) without code of its own here.
#include "engine.hpp"

#include <algorithm>
#include <cmath>

namespace connpool::core::detail {

void Engine::size_locked(TimePoint now, Actions& actions) {
  switch (config_.sizing_mode()) {
    case SizingMode::fixed:
      return;
    case SizingMode::reactive:
      scale_locked(now, actions);
      return;
    case SizingMode::predictive:
      predict_locked(now, actions);
      return;
  }
}

// One sample per tick: the peak demand since the last one feeds the forecaster; the target
// rises to the forecast at once and falls to it only after `scale_down_delay` below it.
void Engine::predict_locked(TimePoint now, Actions& actions) {
  const PredictiveSizingConfig& p = config_.predictive;
  const std::size_t per = config_.max_leases_per_connection;
  const std::size_t demand_now = (leases_ + waiters_.size() + per - 1) / per;
  const std::size_t demand = std::max(demand_peak_, demand_now);
  demand_peak_ = demand_now;

  if (last_sample_at_ != TimePoint{} && now > last_sample_at_) {
    const double dt = std::chrono::duration<double>(now - last_sample_at_).count();
    acquire_rate_ = static_cast<double>(counters_.acquires - last_sample_acquires_) / dt;
  }
  last_sample_at_ = now;
  last_sample_acquires_ = counters_.acquires;
  forecaster_.observe(now, static_cast<double>(demand));

  // While the circuit is open the backend is failing: hold the target where it is (demand seen
  // now is callers failing fast, not load to prepare for).
  if (config_.circuit_breaker.enabled && breaker_.state() == CircuitState::open) return;

  // Rounded up with a little slack: Holt's level wobbles around a flat demand by a hair, and 6.001
  // connections must not open a 7th only for the next wobble to close it again.
  constexpr double kSlack = 0.1;
  const double raw =
      std::max(forecaster_.forecast(p.horizon), forecaster_.level()) * (1.0 + p.headroom);
  const auto rounded = static_cast<std::size_t>(std::ceil(std::max(0.0, raw - kSlack)));
  const std::size_t want = std::clamp(rounded, config_.min_size, config_.max_size);
  if (want >= target_) {
    target_ = want;
    last_scale_change_ = now;
    return;
  }
  if (now - last_scale_change_ < p.scale_down_delay) return;
  target_ = want;
  last_scale_change_ = now;
  shrink_to_target_locked(slots_.size(), actions);
}

// Closes up to `at_most` idle connections while more than the target are open. Busy ones are
// left alone; idle eviction or the next tick takes them once they return.
void Engine::shrink_to_target_locked(std::size_t at_most, Actions& actions) {
  const std::size_t target = effective_min_locked();
  for (std::size_t closed = 0; closed < at_most && slots_.size() > target && !idle_.empty();
       ++closed) {
    destroy_locked(idle_.front(), CloseReason::shrink, actions);
  }
}

}  // namespace connpool::core::detail
