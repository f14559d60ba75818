// A connection that dies while the pool holds it: the connector's watch() tells the pool (from
// whatever thread saw the failure), the notice is posted to the pool's executor, and there the
// pool drops a dead idle connection at once, counts the error and reconnects, so that stats,
// metrics, readiness and the breaker show a dead server within moments instead of one health
// check interval later. A leased or checked connection is marked and closes when handed back.
#include "engine.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <string>

namespace asio = boost::asio;

namespace connpool::core::detail {

std::shared_ptr<const std::atomic<bool>> Engine::watch_connection(void* conn, std::uint64_t id) {
  auto died = std::make_shared<std::atomic<bool>>(false);
  ops_.watch(conn, [weak = weak_from_this(), id, died](const Error& error) {
    died->store(true);
    // Closing a connection fires this too (the pool's own closes included): the notice then
    // finds no slot and does nothing. An engine being destroyed takes no notice at all.
    auto self = weak.lock();
    if (!self) return;
    // Never touch pool state on the connector's thread (docs/adr/0001-async-model.md).
    asio::post(self->executor_, [weak, id, error] {
      if (auto engine = weak.lock()) engine->on_connection_died(id, error);
    });
  });
  return died;
}

void Engine::on_connection_died(std::uint64_t id, const Error& error) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    auto it =
        std::find_if(slots_.begin(), slots_.end(), [id](const Slot& s) { return s.id == id; });
    if (it == slots_.end() || is_doomed(it->state)) return;  // closed or closing already
    const TimePoint now = clock_->now();
    Slot& slot = *it;
    if (slot.state == SlotState::idle) {
      note_death_locked(slot, error, now, actions);
      destroy_locked(&slot, CloseReason::broken, actions);
      plan_connects_locked(now, actions);  // at once: the backoff only counts failed connects
    } else if (is_leased(slot.state)) {
      // Its callers see the error themselves; no new lease may land on it (shared connections),
      // and it closes when the last lease returns (the breaker hears of it then).
      ++slot.errors;
      record_error_locked(error, actions);
      slot.doom(CloseReason::broken);
    } else {
      slot.doom(CloseReason::broken);  // being checked: the failing check counts it
    }
  }
  run(actions);
}

// Counts the death of a connection that no caller saw fail: an error for the observer (the
// connection_pool_errors_total metric), a failure for the breaker, a warning in the log.
void Engine::note_death_locked(Slot& slot, const Error& error, TimePoint now, Actions& actions) {
  ++slot.errors;
  record_error_locked(error, actions);
  record_outcome_locked(false, now, actions);
  if (slot.state != SlotState::idle) slot.doom(CloseReason::broken);
  actions.logs.push_back({LogLevel::warning,
                          "pool '" + options_.name + "': connection " + std::to_string(slot.id) +
                              " died while idle: " + error.to_string(),
                          false});
}

}  // namespace connpool::core::detail
