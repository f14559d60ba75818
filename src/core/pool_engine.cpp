// Acquire and release: the hot paths of the pool.
#include "engine.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

namespace asio = boost::asio;

namespace connpool::core::detail {

void* PoolEngine::connection_of(const Slot* slot) noexcept {
  return slot->conn.get();
}

std::shared_ptr<PoolEngine> PoolEngine::create(asio::any_io_executor executor, PoolConfig config,
                                               ConnectorOps ops, PoolOptions options) {
  auto engine = std::make_shared<Engine>(std::move(executor), std::move(config), std::move(ops),
                                         std::move(options));
  engine->start();
  return engine;
}

namespace {
std::shared_ptr<const Clock> clock_or_default(std::shared_ptr<const Clock> clock) {
  if (clock) return clock;
  return std::make_shared<SteadyClock>();
}
std::uint64_t seed_or_random(std::uint64_t seed) {
  if (seed != 0) return seed;
  return std::random_device{}();
}
}  // namespace

Engine::Engine(asio::any_io_executor executor, PoolConfig config, ConnectorOps ops,
               PoolOptions options)
    : executor_(std::move(executor)),
      ops_(std::move(ops)),
      options_(std::move(options)),
      clock_(clock_or_default(options_.clock)),
      observer_(options_.observer.get()),
      coarse_lease_times_(observer_ == nullptr &&
                          dynamic_cast<const SteadyClock*>(clock_.get()) != nullptr &&
                          coarse_clock_usable()),
      config_(std::move(config)),
      connect_backoff_(connect_backoff_policy(config_), seed_or_random(options_.seed) + 1),
      breaker_(config_.circuit_breaker, clock_->now()),
      target_(config_.min_size),
      forecaster_(config_.predictive.forecast()),
      rng_(seed_or_random(options_.seed)),
      wake_timer_(std::in_place, executor_) {}

Engine::~Engine() = default;

bool Engine::can_take_lease(const Slot& slot) const {
  const SlotState s = slot.state;
  return (s == SlotState::unplaced || s == SlotState::idle || s == SlotState::leased) &&
         slot.leases.size() < config_.max_leases_per_connection;
}

// The helpers the fast paths call are forced inline (GCC keeps them out of line, as they have
// several callers): a call and its prologue are a noticeable part of a ~600-instruction cycle.
#define CONNPOOL_HOT [[gnu::always_inline]] inline

CONNPOOL_HOT Slot* Engine::pop_idle_locked() noexcept {
  Slot* slot = nullptr;
  if (config_.idle_order == IdleOrder::lifo) {
    slot = idle_.back();
    idle_.pop_back();
  } else {
    slot = idle_.front();
    idle_.pop_front();
  }
  slot->apply(SlotEvent::take);
  return slot;
}

// For shared pools: the least loaded connection that is in use and still has room.
Slot* Engine::pick_shared_locked() {
  if (config_.max_leases_per_connection <= 1) return nullptr;
  Slot* best = nullptr;
  for (Slot& s : slots_) {
    if (!s.leases.empty() && can_take_lease(s) &&
        (best == nullptr || s.leases.size() < best->leases.size())) {
      best = &s;
    }
  }
  return best;
}

// An idle connection first (in idle_order), else, for shared pools, the least loaded connection
// that still has room. Idle connections past their lifetime are retired on the way.
Slot* Engine::pick_slot_locked(TimePoint now, Actions& actions) {
  while (!idle_.empty()) {
    Slot* slot = pop_idle_locked();
    if (now >= slot->expires_at) {
      destroy_locked(slot, CloseReason::lifetime, actions);
      continue;
    }
    return slot;
  }
  return pick_shared_locked();
}

CONNPOOL_HOT RawLease Engine::lease_locked(Slot* slot, TimePoint now, std::source_location where) {
  if (slot->leases.empty()) ++in_use_;
  slot->apply(SlotEvent::lease);
  const std::uint64_t token = next_token_++;
  slot->leases.push_back(LeaseRecord{token, now, where, false});
  ++slot->use_count;
  ++leases_;
  ++counters_.acquires;
  note_demand_locked();
  return RawLease(this, slot, token);
}

std::optional<Handoff> Engine::take_locked(TimePoint now, std::source_location where,
                                           Actions& actions) {
  Slot* slot = pick_slot_locked(now, actions);
  if (slot == nullptr) return std::nullopt;
  // A connection nobody used or checked for validate_after_idle is checked before it is trusted
  // (HikariCP's rule); one other leases are using right now is evidently alive.
  const bool fresh = slot->leases.empty();
  const TimePoint last_seen_alive = std::max(slot->last_used, slot->last_validated);
  const bool needs_validation = fresh && (config_.validate_after_idle.count() == 0 ||
                                          now - last_seen_alive >= config_.validate_after_idle);
  return Handoff{lease_locked(slot, now, where), needs_validation};
}

asio::awaitable<Result<RawLease>> Engine::acquire(std::optional<milliseconds> timeout,
                                                  std::source_location where) {
  // A lease given back below (recycle or validation failed) may be the last one of a closed
  // pool, which would let the engine go (unpin_if_drained_locked) while this frame still runs.
  const auto self = shared_from_this();
  const TimePoint started = clock_->now();
  std::optional<Handoff> handoff;
  bool first = true;
  for (;;) {
    {
      Actions actions;
      std::optional<Error> refused;
      {
        std::lock_guard lock(mu_);
        if (closed_) co_return Error(errc::pool_closed, "pool '" + options_.name + "' is closed");
        if (first && config_.circuit_breaker.enabled)
          refused = circuit_check_locked(started, actions);
        if (!refused) {
          handoff = take_locked(started, where, actions);
          if (!actions.to_close.empty()) plan_connects_locked(started, actions);
        }
      }
      run(actions);
      if (refused) co_return std::move(*refused);
      first = false;
    }
    if (!handoff) {
      // Nothing free: queue up. enqueue_waiter looks again under the lock, so a connection
      // returned in between is not missed.
      // Named, not a temporary inside the co_await expression: GCC 12 destroys such
      // temporaries twice (and `self` with them).
      // The engine is called through a copy on this stack, not through the capture: once
      // enqueue_waiter has queued the handler, another thread may serve it and resume this
      // coroutine, which destroys the initiation (and its `self`) while enqueue_waiter still
      // runs its actions; with the Pool gone and the lease dropped at once, that was the last
      // reference to the engine (ADR 0001: an initiation touches nothing after it arms).
      auto initiation = [self = shared_from_this(), timeout, where, started](WaitHandler handler) {
        // (Found by reading for TSan and seen by UBSan under ASan: the engine destroyed
        // under Engine::run.)
        const auto engine = self;
        engine->enqueue_waiter(std::move(handler), timeout, where, started);
      };
      auto result =
          co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<Handoff>)>(
              std::move(initiation), asio::use_awaitable);
      if (!result) co_return std::move(result).error();
      handoff = std::move(*result);
    }
    if (!recycle(handoff->lease.slot_)) {
      // It died while idle (say, the server reset it and the connection noticed): never hand
      // it out. recycle() does no I/O; it is called here, outside the lock, as on return.
      release_with_reason(std::move(handoff->lease), CloseReason::broken);
      handoff.reset();
      continue;
    }
    if (handoff->needs_validation && !co_await validate_handoff(*handoff)) {
      handoff.reset();
      continue;  // that one was broken and is gone; try again within the same deadline
    }
    if (observer_) observer_->on_acquired(clock_->now() - started);
    co_return std::move(handoff->lease);
  }
}

asio::awaitable<bool> Engine::validate_handoff(Handoff& handoff) {
  Slot* slot = handoff.lease.slot_;
  auto valid = co_await validate_with_timeout(slot);
  if (!valid) {
    release_with_reason(std::move(handoff.lease), CloseReason::health_check);
    co_return false;
  }
  std::lock_guard lock(mu_);
  slot->last_validated = clock_->now();
  co_return true;
}

std::optional<RawLease> Engine::try_acquire(std::source_location where) {
  auto lease = take_free<false>(where);
  if (!lease.valid()) return std::nullopt;
  return lease;
}

RawLease Engine::acquire_fast(std::source_location where) {
  return take_free<true>(where);
}

// The fast path: one lock, one clock read, no Actions (nothing here closes, connects, posts or
// logs), no coroutine. Declines (an empty lease) whatever needs the full path.
template <bool ForAcquire>
RawLease Engine::take_free(std::source_location where) {
  RawLease lease = lease_free_locked<ForAcquire>(where);
  if (lease.valid() && !recycle(lease.slot_)) [[unlikely]] {
    release_with_reason(std::move(lease), CloseReason::broken);  // died while idle; now empty
  }
  if (observer_ && lease.valid()) observer_->on_acquired(std::chrono::nanoseconds(0));
  return lease;
}

// take_free's part under the lock; returns the lease (or nothing) as a prvalue, so it is built
// in place in the caller's frame.
template <bool ForAcquire>
CONNPOOL_HOT RawLease Engine::lease_free_locked(std::source_location where) {
  std::lock_guard lock(mu_);
  if (closed_) return {};
  // acquire()'s shortcut leaves the circuit breaker's bookkeeping to the full path.
  if (ForAcquire && config_.circuit_breaker.enabled) return {};
  const TimePoint now = lease_now();
  Slot* slot = nullptr;
  if (!idle_.empty()) {
    // Only a connection that needs no validation and has life left: no I/O here (an expired
    // one is retired by the full path or by housekeeping).
    Slot* candidate = config_.idle_order == IdleOrder::lifo ? idle_.back() : idle_.front();
    const TimePoint last_seen_alive = std::max(candidate->last_used, candidate->last_validated);
    const bool needs_validation = config_.validate_after_idle.count() == 0 ||
                                  now - last_seen_alive >= config_.validate_after_idle;
    if (needs_validation || now >= candidate->expires_at) return {};
    slot = pop_idle_locked();
  } else {
    slot = pick_shared_locked();  // in use by others, hence alive: no validation
    if (slot == nullptr) return {};
  }
  return lease_locked(slot, now, where);
}

void Engine::enqueue_waiter(WaitHandler handler, std::optional<milliseconds> timeout,
                            std::source_location where, TimePoint started) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_->now();
    const milliseconds limit = timeout.value_or(config_.acquire_timeout);
    if (closed_) {
      actions.completions.emplace_back(
          std::move(handler), Error(errc::pool_closed, "pool '" + options_.name + "' is closed"));
    } else if (auto handoff = take_locked(now, where, actions)) {
      actions.completions.emplace_back(std::move(handler), std::move(*handoff));
    } else if (started + limit <= now) {
      ++counters_.acquire_timeouts;
      Error error(errc::acquire_timeout, "acquire timed out after " + format_duration(limit) + " " +
                                             state_summary_locked());
      record_error_locked(error, actions);
      if (observer_) {
        actions.events.emplace_back(
            [waited = now - started](PoolObserver& o) { o.on_acquire_timeout(waited); });
      }
      actions.completions.emplace_back(std::move(handler), std::move(error));
    } else {
      const std::uint64_t id = next_waiter_++;
      const TimePoint deadline = started + limit;
      auto slot = asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) {
        // Never cleared: if it fires after this waiter was served, the lookup by id finds
        // nothing and it does nothing.
        slot.assign([weak = weak_from_this(), id](asio::cancellation_type type) {
          if (type == asio::cancellation_type::none) return;
          if (auto self = weak.lock()) self->cancel_waiter(id);
        });
      }
      waiters_.emplace(id, Waiter{std::move(handler), now, deadline, limit, where});
      deadlines_.emplace(deadline, id);
      note_demand_locked();
      schedule_wake_locked(deadline);
      plan_connects_locked(now, actions);
    }
  }
  run(actions);
}

void Engine::cancel_waiter(std::uint64_t id) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    fail_waiter_locked(it, Error(errc::cancelled, "acquire cancelled"), actions);
  }
  run(actions);
}

void Engine::fail_waiter_locked(std::map<std::uint64_t, Waiter>::iterator it, Error error,
                                Actions& actions) {
  deadlines_.erase({it->second.deadline, it->first});
  actions.completions.emplace_back(std::move(it->second.handler), std::move(error));
  waiters_.erase(it);
}

void Engine::serve_waiters_locked(Slot* slot, TimePoint now, Actions& actions) {
  while (!waiters_.empty() && can_take_lease(*slot)) {
    auto it = waiters_.begin();
    deadlines_.erase({it->second.deadline, it->first});
    // Just returned or just opened: no validation needed.
    actions.completions.emplace_back(std::move(it->second.handler),
                                     Handoff{lease_locked(slot, now, it->second.where), false});
    waiters_.erase(it);
  }
}

void Engine::destroy_locked(Slot* slot, CloseReason reason, Actions& actions) {
  if (slot->state == SlotState::idle) idle_.erase(std::find(idle_.begin(), idle_.end(), slot));
  const Nanos life = std::max(Nanos(1), clock_->now() - slot->created_at);
  ++closed_count_;
  closed_lifetime_sum_ += life;
  closed_lifetime_max_ = std::max(closed_lifetime_max_, life);
  closed_uses_sum_ += slot->use_count;
  closed_busy_fraction_sum_ += std::min(
      1.0, static_cast<double>(slot->busy_time.count()) / static_cast<double>(life.count()));
  actions.to_close.push_back(std::move(slot->conn));
  ++closing_;
  ++counters_.closed_by_reason[static_cast<std::size_t>(reason)];
  if (observer_) actions.events.emplace_back([reason](PoolObserver& o) { o.on_destroyed(reason); });
  slots_.erase(slot->self);
}

// A connection with no lease left (unplaced or doomed_unplaced) goes back into service, to a
// waiter, or away.
void Engine::return_slot_locked(Slot* slot, TimePoint now, Actions& actions) {
  const bool doomed = is_doomed(slot->state);
  if (doomed && is_failure(slot->close_reason)) {
    destroy_locked(slot, slot->close_reason, actions);
  } else if (closed_) {
    destroy_locked(slot, CloseReason::closed, actions);
  } else if (doomed) {
    destroy_locked(slot, slot->close_reason, actions);
  } else if (now >= slot->expires_at) {
    destroy_locked(slot, CloseReason::lifetime, actions);
  } else {
    serve_waiters_locked(slot, now, actions);
    if (slot->leases.empty()) park_locked(slot);
    return;
  }
  plan_connects_locked(now, actions);
}

CONNPOOL_HOT void Engine::park_locked(Slot* slot) {
  slot->apply(SlotEvent::park);
  idle_.push_back(slot);
}

// The bookkeeping of every return: the lease record goes, its usage is counted. False for a
// token that is not there (cannot happen: a token is released once).
CONNPOOL_HOT bool Engine::forget_lease_locked(Slot* slot, std::uint64_t token, bool broken,
                                              TimePoint now, Nanos& usage) {
  auto& records = slot->leases;
  if (records.empty()) return false;
  // The newest record first: an exclusive connection has only one.
  auto it = records.end() - 1;
  if (it->token != token) {
    it = std::find_if(records.begin(), it,
                      [token](const LeaseRecord& r) { return r.token == token; });
    if (it == records.end() - 1) return false;
  }
  // Never negative: a coarse `now` (lease_now()) may lag a precise acquired_at.
  usage = std::max(Nanos(0), now - it->acquired_at);
  if (it != records.end() - 1) *it = records.back();
  records.pop_back();
  --leases_;
  slot->last_used = now;
  slot->busy_time += usage;
  if (broken) ++slot->errors;
  return true;
}

// The common returns, done without Actions, of a healthy connection of an open pool with nobody
// waiting and no circuit breaker to tell: a lease of a connection still shared by others
// (auto-pipelining: settle_locked() would have nothing to do until its last lease comes back),
// and the last lease, which parks it. Anything else is left to settle_locked().
CONNPOOL_HOT bool Engine::park_quietly_locked(Slot* slot, bool broken, TimePoint now) {
  if (broken || closed_ || config_.circuit_breaker.enabled || !waiters_.empty()) return false;
  if (!slot->leases.empty()) return true;
  if (is_doomed(slot->state) || now >= slot->expires_at) return false;
  --in_use_;
  slot->apply(SlotEvent::last_release);
  park_locked(slot);
  return true;
}

// After forget_lease_locked(): tells the breaker, dooms a broken connection, and hands the
// connection to a waiter, back to idle, or away.
void Engine::settle_locked(Slot* slot, bool broken, bool call_failed, CloseReason reason,
                           TimePoint now, Actions& actions) {
  record_outcome_locked(!broken && !call_failed, now, actions);
  if (broken) slot->doom(reason);
  if (slot->leases.empty()) {
    --in_use_;
    slot->apply(SlotEvent::last_release);
    return_slot_locked(slot, now, actions);
  } else if (!waiters_.empty()) {
    serve_waiters_locked(slot, now, actions);
  }
}

void Engine::release(Slot* slot, std::uint64_t token, bool broken, bool call_failed) noexcept {
  const bool reusable = !broken && recycle(slot);
  // (the breaker hears of it in settle_locked: a broken return is a failed call)
  std::unique_lock lock(mu_);
  const TimePoint now = lease_now();
  Nanos usage{0};
  const bool known = forget_lease_locked(slot, token, !reusable, now, usage);
  // The hot path: parked quietly and no observer to tell, so nothing follows the unlock (and
  // the engine needs no reference: the pool is open, so the Pool holds it; a closed pool is
  // never parked into, park_quietly_locked).
  if (known && observer_ == nullptr && park_quietly_locked(slot, !reusable, now)) [[likely]] {
    return;
  }
  finish_release(std::move(lock), slot, known, reusable, call_failed, now, usage);
}

// Every return that is not the hot path's: an observer to tell, a waiter to serve, a broken or
// expired connection, a closed pool, a circuit breaker.
void Engine::finish_release(std::unique_lock<EngineMutex> lock, Slot* slot, bool known,
                            bool reusable, bool call_failed, TimePoint now, Nanos usage) noexcept {
  std::shared_ptr<Engine> keep;    // declared first: dropped after every other use of `this`
  std::optional<Actions> actions;  // only when the return is not the quiet common case
  if (known && !park_quietly_locked(slot, !reusable, now)) {
    actions.emplace();
    settle_locked(slot, !reusable, call_failed, CloseReason::broken, now, *actions);
  }
  PoolObserver* const observer = observer_;
  // What keeps the engine alive once the lock is released: the pin when this was the last
  // lease of a closed pool; otherwise, when more follows, a reference taken now (from here on
  // another thread may destroy the Pool, and with no lease left nothing else would hold the
  // engine; the Pool or the pin holds it now, so lock() is never empty).
  keep = unpin_if_drained_locked();
  if (!keep && (observer != nullptr || actions)) keep = weak_from_this().lock();
  lock.unlock();
  // Past this point `this` is used only while `keep` holds it.
  if (observer != nullptr) observer->on_released(usage);
  if (actions) run(*actions);
}

void Engine::release_with_reason(RawLease lease, CloseReason reason) noexcept {
  Slot* slot = std::exchange(lease.slot_, nullptr);
  const std::uint64_t token = lease.token_;
  lease.engine_ = nullptr;
  // The callers hold a reference of their own (acquire's `self`, or the Pool for try_acquire).
  std::shared_ptr<Engine> last_ref;
  Actions actions;
  Nanos usage{0};
  {
    std::lock_guard lock(mu_);
    const TimePoint now = lease_now();
    if (forget_lease_locked(slot, token, true, now, usage)) {
      settle_locked(slot, true, true, reason, now, actions);
    }
    last_ref = unpin_if_drained_locked();
  }
  run(actions);
}

OwnedConnection Engine::detach(Slot* slot, std::uint64_t token) noexcept {
  std::shared_ptr<Engine> last_ref;  // declared first: dropped after every other use of `this`
  Actions actions;
  OwnedConnection conn;
  {
    std::lock_guard lock(mu_);
    if (slot->leases.size() != 1 || slot->leases.front().token != token) return {};
    slot->leases.clear();
    --leases_;
    --in_use_;
    conn = std::move(slot->conn);
    ++counters_.closed_by_reason[static_cast<std::size_t>(CloseReason::detached)];
    slots_.erase(slot->self);
    plan_connects_locked(clock_->now(), actions);
    last_ref = unpin_if_drained_locked();  // as in release(): run() below needs the engine
    if (!last_ref) last_ref = weak_from_this().lock();
  }
  run(actions);
  return conn;
}

void Engine::mark_broken(Slot* slot) noexcept {
  std::lock_guard lock(mu_);
  slot->doom(CloseReason::broken);
}

void Engine::record_outcome_locked(bool success, TimePoint now, Actions& actions) {
  if (!config_.circuit_breaker.enabled) return;
  breaker_.record(success, now);
  note_breaker_locked(actions);
}

void Engine::note_breaker_locked(Actions& actions) {
  while (auto t = breaker_.take_transition()) {
    ++counters_.circuit_transitions;
    const double rate = breaker_.failure_rate();
    actions.logs.push_back({t->to == CircuitState::closed ? LogLevel::info : LogLevel::warning,
                            "pool '" + options_.name + "': circuit " +
                                std::string(to_string(t->from)) + " -> " +
                                std::string(to_string(t->to)) + " (failure rate " +
                                std::to_string(static_cast<int>(rate * 100)) + "%)",
                            false});
    if (observer_) {
      actions.events.emplace_back(
          [from = t->from, to = t->to](PoolObserver& o) { o.on_circuit_state(from, to); });
    }
  }
}

std::optional<Error> Engine::circuit_check_locked(TimePoint now, Actions& actions) {
  const bool allowed = breaker_.allow(now);
  note_breaker_locked(actions);
  if (allowed) return std::nullopt;
  ++counters_.circuit_rejections;
  const auto until =
      std::chrono::duration_cast<milliseconds>(std::max(Nanos(0), breaker_.next_probe_at() - now));
  std::string message =
      "circuit " + std::string(to_string(breaker_.state())) + " in pool '" + options_.name + "'";
  if (breaker_.state() == CircuitState::open) {
    message += " (failure rate " + std::to_string(static_cast<int>(breaker_.failure_rate() * 100)) +
               "% over " + std::to_string(breaker_.calls_in_window()) + " calls); next probe in " +
               format_duration(until);
  } else {
    message += ": waiting for the outcome of " +
               std::to_string(config_.circuit_breaker.half_open_calls) + " probe calls";
  }
  if (counters_.last_error) message += "; last error: " + counters_.last_error->message();
  Error error(errc::circuit_open, std::move(message));
  ++counters_.errors_by_type[static_cast<std::size_t>(errc::circuit_open)];
  // Counted like any error (connection_pool_errors_total{type="circuit_open"}), but not made
  // last_error: that keeps the backend's own failure, which is what the message above quotes.
  if (observer_) actions.events.emplace_back([error](PoolObserver& o) { o.on_error(error); });
  return error;
}

void Engine::run(Actions& actions) {
  if (!actions.to_close.empty()) {
    // Close outside the lock; only then may replacements open, so that connections that are
    // open, connecting or closing never add up to more than max_size.
    const std::size_t closed = actions.to_close.size();
    actions.to_close.clear();
    std::lock_guard lock(mu_);
    closing_ -= closed;
    plan_connects_locked(clock_->now(), actions);
  }
  for (auto& [handler, result] : actions.completions) {
    // Never run inline: the caller may be a lease destructor deep in another task. Post to the
    // pool's executor, then hop to the handler's own executor (a strand, say), as Asio's own
    // operations do, so completion and cancellation of one waiter never run concurrently.
    asio::post(executor_, [h = std::move(handler), r = std::move(result)]() mutable {
      auto handler_ex = asio::get_associated_executor(h);
      asio::dispatch(handler_ex, [h = std::move(h), r = std::move(r)]() mutable {
        std::move(h)(std::move(r));
      });
    });
  }
  if (!actions.to_check.empty() || actions.connects > 0) {
    auto self = shared_from_this();
    for (Slot* slot : actions.to_check)
      asio::co_spawn(executor_, check_task(self, slot), asio::detached);
    for (std::size_t i = 0; i < actions.connects; ++i) {
      asio::co_spawn(executor_, connect_task(self), asio::detached);
    }
  }
  if (observer_) {
    for (auto& event : actions.events) event(*observer_);
  }
  for (const auto& log : actions.logs) {
    if (options_.logger) {
      options_.logger(log.level, log.message);
    } else if (log.to_stderr_without_logger) {
      std::fprintf(stderr, "connpool: %s\n", log.message.c_str());
    }
  }
}

}  // namespace connpool::core::detail
