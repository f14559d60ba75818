// Taking connections out of service for good: retire_all() and closing the pool.
#include "engine.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

namespace asio = boost::asio;

namespace connpool::core::detail {

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
      if (is_doomed(s.state) || s.state == SlotState::idle) continue;  // idle: closed below
      s.doom(CloseReason::retired);
    }
    // Idle ones go now; checking ones when their check completes; leased ones on return.
    while (!idle_.empty()) destroy_locked(idle_.front(), CloseReason::retired, actions);
    actions.logs.push_back(
        {LogLevel::info, "pool '" + options_.name + "': retiring every connection", false});
    plan_connects_locked(clock_->now(), actions);
  }
  run(actions);
}

void Engine::begin_close_locked(Actions& actions) {
  if (closed_) return;
  closed_ = true;
  // Leases out keep the engine alive after its Pool lets go (released by the last one).
  if (leases_ > 0) pin_ = shared_from_this();
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

}  // namespace connpool::core::detail
