// CircuitBreaker: fail fast while a backend is failing (resilience4j's CLOSED/OPEN/HALF_OPEN),
// fed by real outcomes: connects, validations, and leases returned healthy or broken.
#pragma once

#include "connpool/core/clock.hpp"
#include "connpool/core/result.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string_view>

namespace connpool::core {

using std::chrono::milliseconds;

enum class CircuitState { closed, open, half_open };
std::string_view to_string(CircuitState s) noexcept;

/// Circuit breaker policy (a field of PoolConfig).
struct CircuitBreakerConfig {
  /// Off by default: a pool then never fails fast.
  bool enabled = false;
  /// How outcomes are windowed: the last `window_size` outcomes (count) or those of the last
  /// `window_duration` (time). Default count.
  enum class Window { count, time } window = Window::count;
  /// Outcomes in a count window. Default 20. Must be >= 1.
  std::size_t window_size = 20;
  /// Length of a time window. Default 10000 ms. Must be > 0 for a time window.
  milliseconds window_duration{10000};
  /// The breaker opens when failures / outcomes in the window reach this. Default 0.5.
  /// Range (0, 1].
  double failure_rate_threshold = 0.5;
  /// No decision until the window holds at least this many outcomes. Default 10. 0 means 1.
  std::size_t minimum_calls = 10;
  /// How long the breaker stays open before a probe is allowed. Default 5000 ms. Must be > 0.
  milliseconds open_duration{5000};
  /// Calls let through while half-open; all must succeed to close. Default 3. Must be >= 1.
  std::size_t half_open_calls = 3;

  [[nodiscard]] Result<void> validate() const;
};

/// Not thread-safe: the pool drives it under its lock.
class CircuitBreaker {
 public:
  using TimePoint = Clock::time_point;
  struct Transition {
    CircuitState from;
    CircuitState to;
  };

  explicit CircuitBreaker(CircuitBreakerConfig config, TimePoint now = {});

  /// May a call go ahead now? Moves open -> half_open once open_duration has passed; in
  /// half_open only `half_open_calls` calls are admitted until their outcomes are in.
  bool allow(TimePoint now);
  /// Records a real outcome. A success or failure of an admitted half-open call decides.
  void record(bool success, TimePoint now);
  /// A background probe found the backend reachable again: open -> half_open at once.
  void probe_succeeded(TimePoint now);
  /// A background probe failed: stay open for another open_duration.
  void probe_failed(TimePoint now);

  [[nodiscard]] CircuitState state() const noexcept { return state_; }
  [[nodiscard]] TimePoint since() const noexcept { return since_; }
  [[nodiscard]] TimePoint next_probe_at() const noexcept { return since_ + config_.open_duration; }
  /// Failures / outcomes in the current window (0 when empty).
  [[nodiscard]] double failure_rate() const noexcept;
  [[nodiscard]] std::size_t calls_in_window() const noexcept { return outcomes_.size(); }
  [[nodiscard]] const CircuitBreakerConfig& config() const noexcept { return config_; }
  /// Transitions since the last call, oldest first (for events and metrics).
  std::optional<Transition> take_transition();

 private:
  struct Outcome {
    TimePoint at;
    bool success;
  };
  void move_to(CircuitState to, TimePoint now);
  void trim(TimePoint now);

  CircuitBreakerConfig config_;
  CircuitState state_ = CircuitState::closed;
  TimePoint since_;
  std::deque<Outcome> outcomes_;
  std::size_t failures_ = 0;
  std::size_t half_open_admitted_ = 0;
  std::size_t half_open_succeeded_ = 0;
  std::deque<Transition> transitions_;
};

}  // namespace connpool::core
