// Opening connections: what to open, the connect backoff, the connect task and its outcome.
#include "deadline_race.hpp"
#include "engine.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace asio = boost::asio;

namespace connpool::core::detail {

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
        // Started before retire_all(): may point at the old backend.
        slot.doom(CloseReason::retired);
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

}  // namespace connpool::core::detail
