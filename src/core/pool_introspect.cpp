// Read-only views of the pool: config, stats, per-connection info, state summaries for
// messages, and the invariant check used by tests.
#include "engine.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace connpool::core::detail {

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
    if (is_checking(slot.state)) {
      info.state = ConnectionInfo::State::checking;
    } else if (slot.state == SlotState::idle) {
      info.state = ConnectionInfo::State::idle;
    } else {
      info.state =
          is_doomed(slot.state) ? ConnectionInfo::State::draining : ConnectionInfo::State::in_use;
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
  // The state enum rules out the flag combinations that used to need checking here; what is
  // left is that the state agrees with the lease list, the counters and the idle list.
  for (const Slot& s : slots_) {
    if (is_leased(s.state)) ++in_use;
    leases += s.leases.size();
    if (is_checking(s.state)) ++checking;
    if (s.state == SlotState::idle) ++in_idle;
    if (!is_doomed(s.state)) ++active;
    if (s.bad_transition) problems << "a connection saw a transition its state forbids; ";
    if (s.state == SlotState::unplaced || s.state == SlotState::doomed_unplaced) {
      problems << "a connection is neither idle, leased nor being checked (leaked slot); ";
    }
    if (is_leased(s.state) == s.leases.empty()) {
      problems << "a connection in state " << to_string(s.state) << " carries " << s.leases.size()
               << " leases; ";
    }
    if (s.leases.size() > config_.max_leases_per_connection) {
      problems << "a connection carries " << s.leases.size() << " leases (limit "
               << config_.max_leases_per_connection << "); ";
    }
    if (!s.leases.empty() && can_take_lease(s)) has_room = true;
    if (!s.conn && !is_doomed(s.state)) problems << "a slot in service has no connection; ";
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
