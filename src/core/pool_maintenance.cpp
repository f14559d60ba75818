// Housekeeping of the pool: the wake-up timer and what each wake does (expire waiters, retire
// and evict idle connections, pick health checks, detect leaks, plan connects, probe the breaker).
#include "engine.hpp"

#include <algorithm>
#include <string>

namespace connpool::core::detail {

namespace {
std::string describe_held(Nanos held) {
  return format_duration(std::chrono::duration_cast<milliseconds>(held));
}
}  // namespace

void Engine::start() {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_->now();
    plan_connects_locked(now, actions);  // warm-up to min_size
    schedule_wake_locked(now + housekeeping_period());
  }
  run(actions);
}

// How often housekeeping runs: often enough for the finest policy interval, never busier than
// every 10 ms, never lazier than every second.
Nanos Engine::housekeeping_period() const {
  milliseconds finest{1000};
  for (milliseconds d : {config_.health_check_interval, config_.max_idle_time,
                         config_.leak_detection_threshold, config_.max_lifetime}) {
    if (d.count() > 0) finest = std::min(finest, d / 2);
  }
  // Predictive sizing samples demand every tick.
  if (config_.sizing_mode() == SizingMode::predictive) {
    finest = std::min(finest, config_.predictive.sample_interval);
  }
  return std::max<Nanos>(finest, milliseconds(10));
}

void Engine::schedule_wake_locked(TimePoint at) {
  if (closed_ || at >= wake_at_) return;
  wake_at_ = at;
  const std::uint64_t generation = ++wake_generation_;
  wake_timer_->expires_after(std::max<Nanos>(at - clock_->now(), Nanos(0)));
  wake_timer_->async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_wake(generation);
  });
}

void Engine::on_wake(std::uint64_t generation) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    if (closed_ || generation != wake_generation_) return;  // superseded by a newer schedule
    wake_at_ = TimePoint::max();
    maintain_locked(clock_->now(), actions);
  }
  run(actions);
}

void Engine::run_maintenance() {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    maintain_locked(clock_->now(), actions);
  }
  run(actions);
}

void Engine::maintain_locked(TimePoint now, Actions& actions) {
  expire_waiters_locked(now, actions);

  // Idle connections: retire those past their lifetime, evict those idle too long (never below
  // min_size or min_idle), and pick those due for a health check.
  const std::vector<Slot*> idle(idle_.begin(), idle_.end());
  std::size_t open = slots_.size();
  for (Slot* slot : idle) {
    if (now >= slot->expires_at) {
      destroy_locked(slot, CloseReason::lifetime, actions);
      --open;
    } else if (config_.max_idle_time.count() > 0 &&
               now - slot->last_used >= config_.max_idle_time && open > effective_min_locked() &&
               idle_.size() > config_.min_idle) {
      destroy_locked(slot, CloseReason::idle, actions);
      --open;
    } else if (config_.health_check_interval.count() > 0 &&
               now - std::max(slot->last_used, slot->last_validated) >=
                   config_.health_check_interval) {
      idle_.erase(std::find(idle_.begin(), idle_.end(), slot));
      slot->apply(SlotEvent::check_start);
      ++checking_;
      actions.to_check.push_back(slot);
    }
  }

  for (Slot& slot : slots_) {
    if (slot.leases.empty()) continue;
    // Leased connections past their lifetime take no new leases and close when returned.
    if (now >= slot.expires_at && !is_doomed(slot.state)) slot.doom(CloseReason::lifetime);
    if (config_.leak_detection_threshold.count() == 0) continue;
    for (LeaseRecord& record : slot.leases) {
      if (record.leak_reported || now - record.acquired_at < config_.leak_detection_threshold) {
        continue;
      }
      record.leak_reported = true;
      ++counters_.leaks_detected;
      const Nanos held = now - record.acquired_at;
      const std::source_location where = record.where;
      actions.logs.push_back({LogLevel::warning,
                              "pool '" + options_.name + "': lease held for " +
                                  describe_held(held) + " (leak_detection_threshold " +
                                  format_duration(config_.leak_detection_threshold) +
                                  "), acquired at " + where.file_name() + ":" +
                                  std::to_string(where.line()) + " in " + where.function_name(),
                              true});
      if (observer_) {
        actions.events.emplace_back(
            [held, where](PoolObserver& o) { o.on_leak_detected(held, where); });
      }
    }
  }

  size_locked(now, actions);
  plan_connects_locked(now, actions);
  TimePoint next = now + housekeeping_period();
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  if (config_.circuit_breaker.enabled && breaker_.state() == CircuitState::open) {
    // Background probe: once open_duration has passed, one connect tests the backend.
    if (now >= breaker_.next_probe_at() && connecting_ == 0 &&
        slots_.size() + closing_ < config_.max_size) {
      ++connecting_;
      ++actions.connects;
    }
    next = std::min(next, std::max(now, breaker_.next_probe_at()));
  }
  schedule_wake_locked(next);
}

void Engine::expire_waiters_locked(TimePoint now, Actions& actions) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = waiters_.find(deadlines_.begin()->second);
    const Waiter& waiter = it->second;
    ++counters_.acquire_timeouts;
    Error error(errc::acquire_timeout, "acquire timed out after " +
                                           format_duration(waiter.timeout) + " " +
                                           state_summary_locked());
    record_error_locked(error, actions);
    if (observer_) {
      const Nanos waited = now - waiter.enqueued_at;
      actions.events.emplace_back([waited](PoolObserver& o) { o.on_acquire_timeout(waited); });
    }
    fail_waiter_locked(it, std::move(error), actions);
  }
}

void Engine::record_error_locked(const Error& error, Actions& actions) {
  ++counters_.errors_by_type[static_cast<std::size_t>(error.code())];
  counters_.last_error = error;
  if (observer_) actions.events.emplace_back([error](PoolObserver& o) { o.on_error(error); });
}

}  // namespace connpool::core::detail
