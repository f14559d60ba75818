// Background work of the pool: connecting with backoff, health checks, eviction, lifetimes,
// acquire deadlines, leak detection, resizing, closing; plus stats and invariants.
#include "deadline_race.hpp"
#include "engine.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>
#include <string>

namespace asio = boost::asio;

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
      slot->in_idle = false;
      slot->checking = true;
      ++checking_;
      actions.to_check.push_back(slot);
    }
  }

  for (Slot& slot : slots_) {
    if (slot.leases.empty()) continue;
    // Leased connections past their lifetime take no new leases and close when returned.
    if (now >= slot.expires_at && !slot.retiring) {
      slot.retiring = true;
      slot.close_reason = CloseReason::lifetime;
    }
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

std::string Engine::state_summary_locked() const {
  std::string s = "(total=" + std::to_string(slots_.size()) + " in_use=" + std::to_string(in_use_) +
                  " idle=" + std::to_string(idle_.size()) +
                  " waiting=" + std::to_string(waiters_.size());
  if (connecting_ > 0) s += " connecting=" + std::to_string(connecting_);
  s += ") in pool '" + options_.name + "'";
  if (counters_.last_connect_error) {
    s += "; last connect error: " + counters_.last_connect_error->message();
  }
  return s;
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

// Opens what the pool is short of: min_size, min_idle, and one connection per waiter (per
// max_leases_per_connection waiters when shared), never past max_size. While connects keep
// failing, only one probe at a time, spaced by the backoff.
void Engine::plan_connects_locked(TimePoint now, Actions& actions) {
  if (closed_) return;
  // While the circuit is open only the background probe (maintain_locked) connects. (Before
  // core::Backoff this held by accident for reconnect_backoff_initial 0: 0 * pow(2, 1024) is
  // NaN, and std::min(max, NaN) gave the 10 s cap after about a thousand failures.)
  if (config_.circuit_breaker.enabled && breaker_.state() == CircuitState::open) return;
  const std::size_t pending = slots_.size() + connecting_ + closing_;
  if (pending >= config_.max_size) return;
  std::size_t want = 0;
  const std::size_t min_size = effective_min_locked();
  if (min_size > pending) want = min_size - pending;
  const std::size_t spare = idle_.size() + connecting_;
  if (config_.min_idle > spare) want = std::max(want, config_.min_idle - spare);
  if (!waiters_.empty()) {
    const std::size_t per_conn = config_.max_leases_per_connection;
    const std::size_t needed = (waiters_.size() + per_conn - 1) / per_conn;
    if (needed > connecting_) want = std::max(want, needed - connecting_);
  }
  want = std::min(want, config_.max_size - pending);
  if (want == 0) return;
  if (now < next_connect_at_) {
    schedule_wake_locked(next_connect_at_);
    return;
  }
  if (connect_backoff_.failures() > 0) {
    if (connecting_ > 0) return;
    want = 1;
  }
  connecting_ += want;
  actions.connects += want;
}

core::BackoffPolicy Engine::connect_backoff_policy(const PoolConfig& config) {
  core::BackoffPolicy policy;
  // reconnect_backoff_initial 0 means "retry at once": next_connect_delay_locked() skips the
  // Backoff then, whose policy needs a positive initial delay.
  policy.initial = std::max<Nanos>(Nanos(1), config.reconnect_backoff_initial);
  policy.max = std::max<Nanos>(policy.initial, config.reconnect_backoff_max);
  policy.multiplier = config.reconnect_backoff_multiplier;
  policy.jitter = config.reconnect_backoff_jitter;
  return policy;
}

// Counts one more connect failure and says how long to wait before the next attempt.
Nanos Engine::next_connect_delay_locked() {
  const Nanos delay = connect_backoff_.next();
  if (config_.reconnect_backoff_initial.count() == 0) return Nanos(0);
  return delay;
}

TimePoint Engine::lifetime_deadline_locked(TimePoint created) {
  if (config_.max_lifetime.count() == 0) return TimePoint::max();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double factor = 1.0 - config_.max_lifetime_jitter * unit(rng_);
  const auto life = Nanos(
      static_cast<Nanos::rep>(static_cast<double>(Nanos(config_.max_lifetime).count()) * factor));
  return created + life;
}

// The pool's own timer is a safety net behind the connector's deadline: it stops waiting a
// little after it, so that a connector that keeps its deadline reports its own, more precise
// error, and one that does not cannot stall the pool.
Nanos Engine::safety_net(milliseconds timeout) {
  return Nanos(timeout) + std::max<Nanos>(milliseconds(20), Nanos(timeout) / 10);
}

asio::awaitable<void> Engine::connect_task(std::shared_ptr<Engine> self) {
  const TimePoint started = self->clock_->now();
  const std::uint64_t generation = self->connect_generation_.load();
  const milliseconds timeout = self->config_.connect_timeout;
  const Deadline deadline = Deadline::after(timeout);
  auto race = std::make_shared<DeadlineRace<Result<OwnedConnection>>>(self->executor_);
  auto on_exception = [](const std::exception& e) -> Result<OwnedConnection> {
    return Error(errc::connect_failed, std::string("connector failed: ") + e.what());
  };
  auto outcome =
      co_await race->run(self->ops_.connect(deadline), safety_net(timeout), on_exception, self);
  Result<OwnedConnection> result = Error(errc::connect_failed, "connect did not run");
  if (outcome) {
    result = std::move(*outcome);
  } else {
    result = Error(errc::connect_timeout, "connect timed out after " + format_duration(timeout));
  }
  self->on_connected(std::move(result), self->clock_->now() - started, generation);
}

void Engine::on_connected(Result<OwnedConnection> result, Nanos connect_time,
                          std::uint64_t generation) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    --connecting_;
    const TimePoint now = clock_->now();
    if (result) {
      ++counters_.created;
      connect_backoff_.reset();
      next_connect_at_ = TimePoint{};
      counters_.last_connect_error.reset();
      if (observer_) {
        actions.events.emplace_back(
            [connect_time](PoolObserver& o) { o.on_created(connect_time); });
      }
      if (config_.circuit_breaker.enabled) {
        // Reachable again: let probe calls through. A background connect is not a call, so it
        // does not count as a success in the window (its failures do count: they are the
        // backend failing).
        breaker_.probe_succeeded(now);
        note_breaker_locked(actions);
      }
      Slot& slot = slots_.emplace_back();
      slot.self = std::prev(slots_.end());
      slot.id = next_slot_id_++;
      slot.conn = std::move(*result);
      slot.created_at = slot.last_used = slot.last_validated = now;
      slot.expires_at = lifetime_deadline_locked(now);
      slot.leases.reserve(std::min<std::size_t>(config_.max_leases_per_connection, 16));
      if (generation != connect_generation_.load()) {
        slot.retiring = true;  // started before retire_all(): may point at the old backend
        slot.close_reason = CloseReason::retired;
      }
      return_slot_locked(&slot, now, actions);  // to a waiter, to idle, or closed if the pool is
    } else {
      ++counters_.connect_failures;
      counters_.last_connect_error = result.error();
      record_error_locked(result.error(), actions);
      next_connect_at_ = now + next_connect_delay_locked();
      if (config_.circuit_breaker.enabled) {
        breaker_.probe_failed(now);
        breaker_.record(false, now);
        note_breaker_locked(actions);
      }
      actions.logs.push_back({LogLevel::warning,
                              "pool '" + options_.name + "': connect failed (" +
                                  std::to_string(connect_backoff_.failures()) +
                                  " in a row): " + result.error().to_string(),
                              false});
    }
    plan_connects_locked(now, actions);
  }
  run(actions);
}

asio::awaitable<Result<void>> Engine::validate_with_timeout(Slot* slot) {
  const TimePoint started = clock_->now();
  const milliseconds timeout = config_.validation_timeout;
  const Deadline deadline = Deadline::after(timeout);
  auto race = std::make_shared<DeadlineRace<Result<void>>>(executor_);
  auto on_exception = [](const std::exception& e) -> Result<void> {
    return Error(errc::validation_failed, std::string("validation failed: ") + e.what());
  };
  auto outcome = co_await race->run(ops_.validate(slot->conn.get(), deadline), safety_net(timeout),
                                    on_exception, shared_from_this());
  Result<void> result;
  if (outcome) {
    result = std::move(*outcome);
  } else {
    result =
        Error(errc::validation_timeout, "validation timed out after " + format_duration(timeout));
    // The connector may still be using the connection: it closes when the check returns. The
    // slot, broken from now on, keeps an empty handle until the caller destroys it.
    std::shared_ptr<void> parked;
    {
      std::lock_guard lock(mu_);
      parked = std::shared_ptr<void>(std::move(slot->conn));
      if (!slot->broken) {
        slot->broken = true;
        slot->close_reason = CloseReason::health_check;
      }
    }
    race->keep_until_done(std::move(parked));
  }
  const bool ok = result.has_value();
  Actions actions;
  {
    std::lock_guard lock(mu_);
    ++(ok ? counters_.health_checks_ok : counters_.health_checks_failed);
    counters_.last_health_check_at = std::chrono::system_clock::now();
    counters_.last_health_check_ok = ok;
    // Like connects: a failed check is the backend failing; a passing one is not a call.
    if (!ok) record_outcome_locked(false, clock_->now(), actions);
    if (!ok) ++slot->errors;
    if (!ok) {
      record_error_locked(result.error(), actions);
      actions.logs.push_back(
          {LogLevel::info,
           "pool '" + options_.name + "': health check failed: " + result.error().to_string(),
           false});
    }
  }
  if (observer_) observer_->on_health_check(ok, clock_->now() - started);
  run(actions);
  co_return result;
}

asio::awaitable<void> Engine::check_task(std::shared_ptr<Engine> self, Slot* slot) {
  auto result = co_await self->validate_with_timeout(slot);
  Actions actions;
  {
    std::lock_guard lock(self->mu_);
    const TimePoint now = self->clock_->now();
    slot->checking = false;
    --self->checking_;
    slot->last_validated = now;
    if (!result && !slot->broken) {
      slot->broken = true;
      slot->close_reason = CloseReason::health_check;
    }
    self->return_slot_locked(slot, now, actions);
  }
  self->run(actions);
}

void Engine::begin_close_locked(Actions& actions) {
  if (closed_) return;
  closed_ = true;
  while (!waiters_.empty()) {
    fail_waiter_locked(waiters_.begin(),
                       Error(errc::pool_closed,
                             "pool '" + options_.name + "' closed while waiting for a connection"),
                       actions);
  }
  while (!idle_.empty()) destroy_locked(idle_.back(), CloseReason::closed, actions);
  wake_timer_.reset();  // cancels a pending wait; nothing schedules one once closed_
  ++wake_generation_;
  wake_at_ = TimePoint::max();
}

void Engine::close_now() noexcept {
  try {
    Actions actions;
    {
      std::lock_guard lock(mu_);
      begin_close_locked(actions);
    }
    run(actions);
  } catch (...) {
    // Closing must not throw; what could fail here is posting completions during shutdown.
  }
}

asio::awaitable<void> Engine::close(std::chrono::nanoseconds drain_timeout) {
  auto self = shared_from_this();
  close_now();
  // Drain on real time (not the injected clock): this is a wall-clock promise to the caller.
  const auto deadline = std::chrono::steady_clock::now() + drain_timeout;
  asio::steady_timer timer(executor_);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (leases_ == 0 && checking_ == 0 && connecting_ == 0) break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    timer.expires_after(std::min<std::chrono::nanoseconds>(deadline - now, milliseconds(5)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
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
    for (const Slot& s : slots_) active += (s.retiring || s.broken) ? 0 : 1;
    // Shrink: idle connections go now, busy ones when their last lease returns.
    while (active + connecting_ > max_size && !idle_.empty()) {
      destroy_locked(idle_.front(), CloseReason::shrink, actions);
      --active;
    }
    for (Slot& s : slots_) {
      if (active + connecting_ <= max_size) break;
      if (s.retiring || s.broken) continue;
      s.retiring = true;
      s.close_reason = CloseReason::shrink;
      --active;
    }
    plan_connects_locked(clock_->now(), actions);
  }
  run(actions);
  return ok();
}

void Engine::retire_all() noexcept {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    connect_generation_.fetch_add(1);
    // The failures so far were against the old backend: try the new one at once.
    connect_backoff_.reset();
    next_connect_at_ = TimePoint{};
    for (Slot& s : slots_) {
      if (s.broken || s.retiring) continue;
      s.retiring = true;
      s.close_reason = CloseReason::retired;
    }
    // Idle ones go now; checking ones when their check completes; leased ones on return.
    while (!idle_.empty()) destroy_locked(idle_.front(), CloseReason::retired, actions);
    actions.logs.push_back(
        {LogLevel::info, "pool '" + options_.name + "': retiring every connection", false});
    plan_connects_locked(clock_->now(), actions);
  }
  run(actions);
}

PoolConfig Engine::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

PoolStats Engine::stats() const {
  std::lock_guard lock(mu_);
  PoolStats s = counters_;
  s.total = slots_.size();
  s.idle = idle_.size();
  s.in_use = in_use_;
  s.connecting = connecting_;
  s.waiting = waiters_.size();
  s.leases = leases_;
  s.min_size = config_.min_size;
  s.max_size = config_.max_size;
  s.max_leases_per_connection = config_.max_leases_per_connection;
  s.utilization = static_cast<double>(leases_) /
                  static_cast<double>(config_.max_size * config_.max_leases_per_connection);
  s.closed = closed_;
  s.circuit_enabled = config_.circuit_breaker.enabled;
  s.circuit_state = breaker_.state();
  s.circuit_failure_rate = breaker_.failure_rate();
  const TimePoint now = clock_->now();
  if (s.circuit_enabled) {
    s.circuit_since =
        std::chrono::system_clock::now() -
        std::chrono::duration_cast<std::chrono::system_clock::duration>(now - breaker_.since());
  }
  s.target_size = effective_min_locked();
  s.sizing = config_.sizing_mode();
  s.forecast = forecaster_.forecast(config_.predictive.horizon);
  s.acquire_rate = acquire_rate_;

  std::vector<Nanos> ages;
  std::vector<std::uint64_t> uses;
  ages.reserve(slots_.size());
  uses.reserve(slots_.size());
  for (const Slot& slot : slots_) {
    ages.push_back(now - slot.created_at);
    uses.push_back(slot.use_count);
  }
  std::sort(ages.begin(), ages.end());
  std::sort(uses.begin(), uses.end());
  LifetimeStats& l = s.lifetimes;
  if (!ages.empty()) {
    l.live_age_p50 = ages[ages.size() / 2];
    l.live_age_max = ages.back();
    l.live_uses_p50 = uses[uses.size() / 2];
    l.live_uses_max = uses.back();
  }
  l.closed = closed_count_;
  if (closed_count_ > 0) {
    const auto n = static_cast<Nanos::rep>(closed_count_);
    l.closed_lifetime_mean = closed_lifetime_sum_ / n;
    l.closed_lifetime_max = closed_lifetime_max_;
    l.closed_uses_mean = static_cast<double>(closed_uses_sum_) / static_cast<double>(closed_count_);
    l.closed_busy_fraction_mean = closed_busy_fraction_sum_ / static_cast<double>(closed_count_);
  }
  return s;
}

std::vector<ConnectionInfo> Engine::connections() const {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_->now();
  std::vector<ConnectionInfo> out;
  out.reserve(slots_.size());
  for (const Slot& slot : slots_) {
    ConnectionInfo info;
    info.id = slot.id;
    if (slot.checking) {
      info.state = ConnectionInfo::State::checking;
    } else if (slot.leases.empty()) {
      info.state = ConnectionInfo::State::idle;
    } else {
      info.state = (slot.broken || slot.retiring) ? ConnectionInfo::State::draining
                                                  : ConnectionInfo::State::in_use;
    }
    info.age = now - slot.created_at;
    info.idle_for = slot.leases.empty() ? now - slot.last_used : Nanos(0);
    info.use_count = slot.use_count;
    info.busy_time = slot.busy_time;
    info.leases = slot.leases.size();
    info.errors = slot.errors;
    out.push_back(info);
  }
  return out;
}

std::string Engine::check_invariants() const {
  std::lock_guard lock(mu_);
  std::ostringstream problems;
  std::size_t in_use = 0;
  std::size_t leases = 0;
  std::size_t checking = 0;
  std::size_t in_idle = 0;
  std::size_t active = 0;
  bool has_room = false;
  for (const Slot& s : slots_) {
    if (!s.leases.empty()) ++in_use;
    leases += s.leases.size();
    if (s.checking) ++checking;
    if (s.in_idle) ++in_idle;
    if (!s.retiring && !s.broken) ++active;
    if (s.leases.size() > config_.max_leases_per_connection) {
      problems << "a connection carries " << s.leases.size() << " leases (limit "
               << config_.max_leases_per_connection << "); ";
    }
    if (s.in_idle && (!s.leases.empty() || s.checking || s.broken || s.retiring)) {
      problems << "an idle-listed connection is leased, checked, broken or retiring; ";
    }
    if (!s.in_idle && s.leases.empty() && !s.checking) {
      problems << "a connection is neither idle, leased nor being checked (leaked slot); ";
    }
    if (!s.leases.empty() && can_take_lease(s)) has_room = true;
    if (!s.conn && !s.broken) problems << "a slot in service has no connection; ";
  }
  if (in_use != in_use_) problems << "in_use " << in_use_ << " != counted " << in_use << "; ";
  if (leases != leases_) problems << "leases " << leases_ << " != counted " << leases << "; ";
  if (checking != checking_) problems << "checking " << checking_ << " != " << checking << "; ";
  if (in_idle != idle_.size())
    problems << "idle list " << idle_.size() << " != " << in_idle << "; ";
  if (active + connecting_ + closing_ > config_.max_size) {
    problems << "open+connecting+closing " << active + connecting_ + closing_ << " > max_size "
             << config_.max_size << "; ";
  }
  if (waiters_.size() != deadlines_.size()) problems << "waiters and deadlines disagree; ";
  if (!waiters_.empty() && !idle_.empty()) problems << "waiters queued while a connection idles; ";
  if (!waiters_.empty() && has_room)
    problems << "waiters queued while a shared connection has room; ";
  if (closed_ && (!waiters_.empty() || !idle_.empty())) {
    problems << "closed pool still has waiters or idle connections; ";
  }
  return problems.str();
}

}  // namespace connpool::core::detail
