// Pool size: the effective minimum, dynamic sizing and resize().
#include "engine.hpp"

#include <algorithm>
#include <string>

namespace connpool::core::detail {

std::size_t Engine::effective_min_locked() const {
  return config_.sizing_mode() == SizingMode::fixed ? config_.min_size
                                                    : std::max(config_.min_size, target_);
}

// Dynamic sizing: raise the target while the pool is busy (pre-opening connections), lower it
// step by step once it has been quiet for a cooldown, closing idle connections above it.
void Engine::scale_locked(TimePoint now, Actions& actions) {
  const DynamicSizingConfig& d = config_.dynamic_sizing;
  const std::size_t open = slots_.size();
  const double capacity =
      static_cast<double>(std::max<std::size_t>(open, 1) * config_.max_leases_per_connection);
  const double load = waiters_.empty() ? static_cast<double>(leases_) / capacity : 1.0;
  if (load >= d.scale_up_utilization) {
    if (now - last_scale_up_ >= d.scale_up_cooldown && target_ < config_.max_size) {
      target_ = std::min(config_.max_size, std::max(target_, open) + d.scale_up_step);
      last_scale_up_ = last_scale_change_ = now;
    }
    return;
  }
  if (load > d.scale_down_utilization || now - last_scale_change_ < d.scale_down_cooldown) return;
  if (open <= config_.min_size && target_ <= config_.min_size) return;
  const std::size_t base = std::min(std::max(target_, config_.min_size), open);
  target_ = std::max(config_.min_size, base > d.scale_down_step ? base - d.scale_down_step : 0);
  last_scale_change_ = now;
  shrink_to_target_locked(d.scale_down_step, actions);
}

Result<void> Engine::resize(std::size_t min_size, std::size_t max_size) {
  if (max_size == 0) return Error(errc::invalid_config, "resize: max_size (0) must be >= 1");
  if (min_size > max_size) {
    return Error(errc::invalid_config, "resize: min_size (" + std::to_string(min_size) +
                                           ") > max_size (" + std::to_string(max_size) + ")");
  }
  Actions actions;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Error(errc::pool_closed, "pool '" + options_.name + "' is closed");
    config_.min_size = min_size;
    config_.max_size = max_size;
    target_ = std::clamp(target_, min_size, max_size);
    config_.min_idle = std::min(config_.min_idle, max_size);
    std::size_t active = 0;  // what stays in service; closing ones are on their way out
    for (const Slot& s : slots_) active += is_doomed(s.state) ? 0 : 1;
    // Shrink: idle connections go now, busy ones when their last lease returns.
    while (active + connecting_ > max_size && !idle_.empty()) {
      destroy_locked(idle_.front(), CloseReason::shrink, actions);
      --active;
    }
    for (Slot& s : slots_) {
      if (active + connecting_ <= max_size) break;
      if (is_doomed(s.state)) continue;  // (no idle one is left here: they went first)
      s.doom(CloseReason::shrink);
      --active;
    }
    plan_connects_locked(clock_->now(), actions);
  }
  run(actions);
  return ok();
}

}  // namespace connpool::core::detail
