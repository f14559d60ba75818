#include "connpool/core/circuit_breaker.hpp"

#include <string>

namespace connpool::core {

std::string_view to_string(CircuitState s) noexcept {
  switch (s) {
    case CircuitState::closed:
      return "closed";
    case CircuitState::open:
      return "open";
    case CircuitState::half_open:
      return "half_open";
  }
  return "unknown";
}

Result<void> CircuitBreakerConfig::validate() const {
  auto bad = [](std::string m) { return Error(errc::invalid_config, "circuit_breaker." + m); };
  if (!enabled) return ok();
  if (window == Window::count && window_size == 0) return bad("window_size (0) must be >= 1");
  if (window == Window::time && window_duration.count() <= 0) {
    return bad("window_duration (" + std::to_string(window_duration.count()) + "ms) must be > 0");
  }
  if (!(failure_rate_threshold > 0.0 && failure_rate_threshold <= 1.0)) {
    return bad("failure_rate_threshold (" + std::to_string(failure_rate_threshold) +
               ") must be in (0, 1]");
  }
  if (open_duration.count() <= 0) {
    return bad("open_duration (" + std::to_string(open_duration.count()) + "ms) must be > 0");
  }
  if (half_open_calls == 0) return bad("half_open_calls (0) must be >= 1");
  return ok();
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, TimePoint now)
    : config_(config), since_(now) {}

double CircuitBreaker::failure_rate() const noexcept {
  if (outcomes_.empty()) return 0.0;
  return static_cast<double>(failures_) / static_cast<double>(outcomes_.size());
}

void CircuitBreaker::move_to(CircuitState to, TimePoint now) {
  if (to == state_) return;
  transitions_.push_back({state_, to});
  if (transitions_.size() > 64) transitions_.pop_front();
  state_ = to;
  since_ = now;
  half_open_admitted_ = 0;
  half_open_succeeded_ = 0;
  if (to == CircuitState::closed) {
    // A fresh start: the failures that opened it are history.
    outcomes_.clear();
    failures_ = 0;
  }
}

void CircuitBreaker::trim(TimePoint now) {
  auto drop_front = [this] {
    if (!outcomes_.front().success) --failures_;
    outcomes_.pop_front();
  };
  if (config_.window == CircuitBreakerConfig::Window::count) {
    while (outcomes_.size() > config_.window_size) drop_front();
  } else {
    while (!outcomes_.empty() && now - outcomes_.front().at > config_.window_duration) {
      drop_front();
    }
  }
}

bool CircuitBreaker::allow(TimePoint now) {
  if (!config_.enabled) return true;
  switch (state_) {
    case CircuitState::closed:
      return true;
    case CircuitState::open:
      if (now < next_probe_at()) return false;
      move_to(CircuitState::half_open, now);
      [[fallthrough]];
    case CircuitState::half_open:
      if (half_open_admitted_ >= config_.half_open_calls) {
        // Probe calls whose outcome never came (their callers gave up): try again later.
        if (now - since_ >= config_.open_duration) move_to(CircuitState::open, now);
        return false;
      }
      ++half_open_admitted_;
      return true;
  }
  return true;
}

void CircuitBreaker::record(bool success, TimePoint now) {
  if (!config_.enabled) return;
  switch (state_) {
    case CircuitState::half_open:
      if (!success) {
        move_to(CircuitState::open, now);
      } else if (++half_open_succeeded_ >= config_.half_open_calls) {
        move_to(CircuitState::closed, now);
      }
      return;
    case CircuitState::open:
      return;  // outcomes of calls admitted before it opened do not count twice
    case CircuitState::closed:
      break;
  }
  outcomes_.push_back({now, success});
  if (!success) ++failures_;
  trim(now);
  const std::size_t minimum = config_.minimum_calls == 0 ? 1 : config_.minimum_calls;
  if (outcomes_.size() >= minimum && failure_rate() >= config_.failure_rate_threshold) {
    move_to(CircuitState::open, now);
  }
}

void CircuitBreaker::probe_succeeded(TimePoint now) {
  if (config_.enabled && state_ == CircuitState::open) move_to(CircuitState::half_open, now);
}

void CircuitBreaker::probe_failed(TimePoint now) {
  if (config_.enabled && state_ == CircuitState::open) since_ = now;
}

std::optional<CircuitBreaker::Transition> CircuitBreaker::take_transition() {
  if (transitions_.empty()) return std::nullopt;
  Transition t = transitions_.front();
  transitions_.pop_front();
  return t;
}

}  // namespace connpool::core
