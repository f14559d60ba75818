// Engine: the one implementation of detail::PoolEngine. Internal to src/core.
//
// Locking discipline: `mu_` guards every field below it. Code that holds the lock never does I/O,
// never calls the connector, an observer or a completion handler: it records what must happen in
// an `Actions` value, and `run(Actions)` performs it after the lock is released.
#pragma once

#include "connpool/core/backoff.hpp"
#include "connpool/core/circuit_breaker.hpp"
#include "connpool/core/demand_forecast.hpp"
#include "connpool/core/detail/pool_engine.hpp"
#include "connpool/core/detail/slot_state.hpp"
#include "connpool/core/lease.hpp"

#include "coarse_clock.hpp"
#include "engine_mutex.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

namespace connpool::core::detail {

using TimePoint = Clock::time_point;
using Nanos = std::chrono::nanoseconds;

struct LeaseRecord {
  std::uint64_t token = 0;
  TimePoint acquired_at;
  std::source_location where;
  bool leak_reported = false;
};

/// One open connection and its bookkeeping.
struct Slot {
  OwnedConnection conn;
  std::list<Slot>::iterator self;  // position in Engine::slots_, for O(1) erase
  TimePoint created_at;
  TimePoint expires_at;  // created_at + jittered max_lifetime (TimePoint::max() if none)
  TimePoint last_used;   // last return (or creation)
  TimePoint last_validated;
  std::vector<LeaseRecord> leases;        // capacity is kept, so steady state does not allocate
  SlotState state = SlotState::unplaced;  // changed only through apply() and doom()
  CloseReason close_reason = CloseReason::broken;  // why, once doomed
  bool bad_transition = false;  // an event the table forbids was applied (check_invariants)
  std::uint64_t use_count = 0;
  std::uint64_t id = 0;
  Nanos busy_time{0};
  std::uint64_t errors = 0;

  /// Moves along the transition table (slot_state.hpp); an illegal event leaves the state as it
  /// was and is remembered for check_invariants().
  void apply(SlotEvent event) noexcept {
    if (auto next = next_state(state, event)) {
      state = *next;
    } else {
      bad_transition = true;
    }
  }
  /// Broken or retiring: takes no new lease, closes when handed back. The first reason stays,
  /// except that a failure replaces a retirement (slot_state.hpp, is_failure).
  void doom(CloseReason reason) noexcept {
    if (!is_doomed(state) || (is_failure(reason) && !is_failure(close_reason))) {
      close_reason = reason;
    }
    apply(SlotEvent::doom);
  }
};

/// What an acquirer receives: a lease, and whether it must validate the connection first.
struct Handoff {
  RawLease lease;
  bool needs_validation = false;
};
using WaitHandler = boost::asio::any_completion_handler<void(Result<Handoff>)>;

struct Waiter {
  WaitHandler handler;
  TimePoint enqueued_at;
  TimePoint deadline;
  milliseconds timeout{0};
  std::source_location where;
};

/// Side effects decided under the lock, performed after it is released.
struct Actions {
  std::vector<OwnedConnection> to_close;
  std::vector<std::pair<WaitHandler, Result<Handoff>>> completions;
  std::vector<Slot*> to_check;
  std::size_t connects = 0;
  std::vector<std::function<void(PoolObserver&)>> events;
  struct Log {
    LogLevel level;
    std::string message;
    bool to_stderr_without_logger;  // leak reports must reach someone even with no logger set
  };
  std::vector<Log> logs;
};

class Engine final : public PoolEngine, public std::enable_shared_from_this<Engine> {
 public:
  Engine(boost::asio::any_io_executor executor, PoolConfig config, ConnectorOps ops,
         PoolOptions options);
  ~Engine() override;

  void start();

  boost::asio::awaitable<Result<RawLease>> acquire(std::optional<milliseconds> timeout,
                                                   std::source_location where) override;
  std::optional<RawLease> try_acquire(std::source_location where) override;
  RawLease acquire_fast(std::source_location where) override;
  boost::asio::awaitable<void> close(std::chrono::nanoseconds drain_timeout) override;
  void close_now() noexcept override;
  [[nodiscard]] PoolStats stats() const override;
  [[nodiscard]] std::vector<ConnectionInfo> connections() const override;
  void run_maintenance() override;
  Result<void> resize(std::size_t min_size, std::size_t max_size) override;
  void retire_all() noexcept override;
  [[nodiscard]] PoolConfig config() const override;
  [[nodiscard]] const PoolOptions& options() const noexcept override { return options_; }
  [[nodiscard]] boost::asio::any_io_executor executor() const override { return executor_; }
  [[nodiscard]] std::string check_invariants() const override;

  void release(Slot* slot, std::uint64_t token, bool broken, bool call_failed) noexcept override;
  OwnedConnection detach(Slot* slot, std::uint64_t token) noexcept override;
  void mark_broken(Slot* slot) noexcept override;

 private:
  // --- under the lock -------------------------------------------------------------------------
  std::optional<Handoff> take_locked(TimePoint now, std::source_location where, Actions& actions);
  Slot* pick_slot_locked(TimePoint now, Actions& actions);
  Slot* pop_idle_locked() noexcept;  // the next idle connection in idle_order (idle_ not empty)
  Slot* pick_shared_locked();
  RawLease lease_locked(Slot* slot, TimePoint now, std::source_location where);
  void return_slot_locked(Slot* slot, TimePoint now, Actions& actions);
  void serve_waiters_locked(Slot* slot, TimePoint now, Actions& actions);
  void destroy_locked(Slot* slot, CloseReason reason, Actions& actions);
  void park_locked(Slot* slot);
  bool forget_lease_locked(Slot* slot, std::uint64_t token, bool broken, TimePoint now,
                           Nanos& usage);
  bool park_quietly_locked(Slot* slot, bool broken, TimePoint now);
  void settle_locked(Slot* slot, bool broken, bool call_failed, CloseReason reason, TimePoint now,
                     Actions& actions);
  void expire_waiters_locked(TimePoint now, Actions& actions);
  void fail_waiter_locked(std::map<std::uint64_t, Waiter>::iterator it, Error error,
                          Actions& actions);
  void plan_connects_locked(TimePoint now, Actions& actions);
  void maintain_locked(TimePoint now, Actions& actions);
  void schedule_wake_locked(TimePoint at);
  void record_error_locked(const Error& error, Actions& actions);
  [[nodiscard]] bool can_take_lease(const Slot& slot) const;
  [[nodiscard]] std::string state_summary_locked() const;
  [[nodiscard]] Nanos next_connect_delay_locked();
  [[nodiscard]] static core::BackoffPolicy connect_backoff_policy(const PoolConfig& config);
  [[nodiscard]] TimePoint lifetime_deadline_locked(TimePoint created);
  [[nodiscard]] Nanos housekeeping_period() const;
  void begin_close_locked(Actions& actions);
  void record_outcome_locked(bool success, TimePoint now, Actions& actions);
  void note_breaker_locked(Actions& actions);
  [[nodiscard]] std::optional<Error> circuit_check_locked(TimePoint now, Actions& actions);
  void size_locked(TimePoint now, Actions& actions);  // pool_sizing.cpp: per SizingMode
  void scale_locked(TimePoint now, Actions& actions);
  void predict_locked(TimePoint now, Actions& actions);  // pool_sizing.cpp
  void shrink_to_target_locked(std::size_t at_most, Actions& actions);
  // Predictive sizing's demand sample: the peak since the last tick, kept by the lease and
  // wait paths (a burst shorter than a tick still counts).
  void note_demand_locked() noexcept {
    const std::size_t per = config_.max_leases_per_connection;
    const std::size_t demand = leases_ + waiters_.size();
    // No division on the exclusive-lease hot path (per == 1).
    demand_peak_ = std::max(demand_peak_, per == 1 ? demand : (demand + per - 1) / per);
  }
  [[nodiscard]] std::size_t effective_min_locked() const;
  // The pin, once a closed pool has no lease left; the caller drops it after its last use of
  // `this` (it may be the last reference).
  [[nodiscard]] std::shared_ptr<Engine> unpin_if_drained_locked() noexcept {
    if (leases_ == 0 && pin_) return std::move(pin_);
    return nullptr;
  }
  void note_death_locked(Slot& slot, const Error& error, TimePoint now, Actions& actions);

  // The time stamped on a lease taken or returned: acquired_at, last_used, the usage an observer
  // hears of. Precise when an observer times leases (the usage histogram) or the clock is
  // injected (tests); otherwise the coarse clock, which costs a quarter of a precise read. The
  // coarse clock lags by at most one scheduler tick (4 ms at HZ=250), well inside what leak
  // detection, lifetimes, idle eviction and validate_after_idle need; a lease's busy time is then
  // counted in ticks (unbiased over many leases).
  [[nodiscard]] TimePoint lease_now() const noexcept {
    return coarse_lease_times_ ? coarse_steady_now() : clock_->now();
  }

  // --- outside the lock -----------------------------------------------------------------------
  template <bool ForAcquire>
  RawLease take_free(std::source_location where);
  template <bool ForAcquire>
  RawLease lease_free_locked(std::source_location where);
  void finish_release(std::unique_lock<EngineMutex> lock, Slot* slot, bool known, bool reusable,
                      bool call_failed, TimePoint now, Nanos usage) noexcept;
  // The connector's recycle() (no I/O): false means the connection must not be reused.
  [[nodiscard]] bool recycle(Slot* slot) const noexcept {
    return ops_.recycle(ops_.connector.get(), slot->conn.get());
  }
  void run(Actions& actions);
  void release_with_reason(RawLease lease, CloseReason reason) noexcept;
  boost::asio::awaitable<bool> validate_handoff(Handoff& handoff);
  void enqueue_waiter(WaitHandler handler, std::optional<milliseconds> timeout,
                      std::source_location where, TimePoint started);
  void cancel_waiter(std::uint64_t id);
  void on_wake(std::uint64_t generation);
  static boost::asio::awaitable<void> connect_task(std::shared_ptr<Engine> self);
  static boost::asio::awaitable<void> check_task(std::shared_ptr<Engine> self, Slot* slot);
  boost::asio::awaitable<Result<void>> validate_with_timeout(Slot* slot);
  [[nodiscard]] static Nanos safety_net(milliseconds timeout);
  void on_connected(Result<OwnedConnection> result, Nanos connect_time, std::uint64_t generation,
                    std::uint64_t id, const std::shared_ptr<const std::atomic<bool>>& died);
  [[nodiscard]] std::shared_ptr<const std::atomic<bool>> watch_connection(void* conn,
                                                                          std::uint64_t id);
  void on_connection_died(std::uint64_t id, const Error& error);
  void notify(const std::function<void(PoolObserver&)>& event) const;

  const boost::asio::any_io_executor executor_;
  const ConnectorOps ops_;
  const PoolOptions options_;
  const std::shared_ptr<const Clock> clock_;
  PoolObserver* const observer_;  // options_.observer.get(), may be null
  // Lease timestamps from the kernel's coarse clock (coarse_clock.hpp): with the steady clock and
  // no observer, nothing reads them finer than milliseconds.
  const bool coarse_lease_times_;

  mutable EngineMutex mu_;  // not std::mutex: engine_mutex.hpp
  PoolConfig config_;
  std::list<Slot> slots_;
  std::deque<Slot*> idle_;
  std::map<std::uint64_t, Waiter> waiters_;  // key = arrival number: begin() is the oldest
  std::set<std::pair<TimePoint, std::uint64_t>> deadlines_;
  std::size_t connecting_ = 0;
  std::size_t closing_ = 0;  // taken out of slots_, not yet closed: still counts toward max_size
  std::size_t leases_ = 0;
  std::size_t in_use_ = 0;
  std::size_t checking_ = 0;
  std::uint64_t next_token_ = 1;
  std::uint64_t next_waiter_ = 1;
  core::Backoff connect_backoff_;  // failures() = connect failures in a row
  TimePoint next_connect_at_{};
  bool closed_ = false;
  // Set when the pool closes with leases out, dropped (outside the lock) when the last one comes
  // back: leases hold a raw pointer to the engine (lease.hpp), so this keeps it alive for them.
  std::shared_ptr<Engine> pin_;
  PoolStats counters_;  // only the counter fields are used
  CircuitBreaker breaker_;
  std::size_t target_ = 0;  // reactive/predictive sizing target (>= config_.min_size)
  TimePoint last_scale_up_{};
  TimePoint last_scale_change_{};
  // Predictive sizing (pool_sizing.cpp)
  DemandForecaster forecaster_;
  std::size_t demand_peak_ = 0;
  TimePoint last_sample_at_{};
  std::uint64_t last_sample_acquires_ = 0;
  double acquire_rate_ = 0.0;  // acquires per second over the last sample interval
  // Allocated in connect_task, before the connection is watched (its death notice names it).
  std::atomic<std::uint64_t> next_slot_id_{1};
  // Bumped by retire_all(); a connect that started under an older generation is retired when
  // it completes. Atomic because connect_task reads it outside the lock, just before connecting.
  std::atomic<std::uint64_t> connect_generation_{0};
  // Closed-connection aggregates for lifetime analytics
  std::uint64_t closed_count_ = 0;
  Nanos closed_lifetime_sum_{0};
  Nanos closed_lifetime_max_{0};
  std::uint64_t closed_uses_sum_ = 0;
  double closed_busy_fraction_sum_ = 0.0;
  std::mt19937_64 rng_;
  // Reset when the pool closes, so that a closed pool's engine may be destroyed after its
  // io_context (an Asio I/O object must not outlive its execution context).
  std::optional<boost::asio::steady_timer> wake_timer_;
  TimePoint wake_at_ = TimePoint::max();
  std::uint64_t wake_generation_ = 0;
};

}  // namespace connpool::core::detail
