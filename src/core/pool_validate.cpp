// Background health checks of idle connections, bounded by validation_timeout.
#include "deadline_race.hpp"
#include "engine.hpp"

#include <exception>
#include <string>

namespace asio = boost::asio;

namespace connpool::core::detail {

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
      slot->doom(CloseReason::health_check);
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
    slot->apply(SlotEvent::check_end);
    --self->checking_;
    slot->last_validated = now;
    if (!result) slot->doom(CloseReason::health_check);
    self->return_slot_locked(slot, now, actions);
  }
  self->run(actions);
}

}  // namespace connpool::core::detail
