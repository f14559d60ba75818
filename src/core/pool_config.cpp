#include "connpool/core/pool_config.hpp"

#include <charconv>
#include <string>

namespace connpool::core {

namespace {
Error invalid(std::string message) {
  return {errc::invalid_config, std::move(message)};
}
}  // namespace

Result<void> PoolConfig::validate() const {
  using std::to_string;
  if (max_size == 0) return invalid("max_size (0) must be >= 1");
  if (min_size > max_size) {
    return invalid("min_size (" + to_string(min_size) + ") > max_size (" + to_string(max_size) +
                   ")");
  }
  if (min_idle > max_size) {
    return invalid("min_idle (" + to_string(min_idle) + ") > max_size (" + to_string(max_size) +
                   ")");
  }
  if (max_leases_per_connection == 0) return invalid("max_leases_per_connection (0) must be >= 1");
  auto non_negative = [](milliseconds d) { return d.count() >= 0; };
  struct Named {
    const char* name;
    milliseconds value;
  };
  for (const Named& n :
       {Named{"acquire_timeout", acquire_timeout}, Named{"connect_timeout", connect_timeout},
        Named{"validation_timeout", validation_timeout}, Named{"max_idle_time", max_idle_time},
        Named{"max_lifetime", max_lifetime}, Named{"health_check_interval", health_check_interval},
        Named{"validate_after_idle", validate_after_idle},
        Named{"leak_detection_threshold", leak_detection_threshold},
        Named{"reconnect_backoff_initial", reconnect_backoff_initial},
        Named{"reconnect_backoff_max", reconnect_backoff_max},
        Named{"min_size_backoff_cap", min_size_backoff_cap}}) {
    if (!non_negative(n.value)) {
      return invalid(std::string(n.name) + " (" + to_string(n.value.count()) +
                     "ms) must not be negative");
    }
  }
  if (connect_timeout.count() == 0) return invalid("connect_timeout (0ms) must be > 0");
  if (validation_timeout.count() == 0) return invalid("validation_timeout (0ms) must be > 0");
  if (reconnect_backoff_max < reconnect_backoff_initial) {
    return invalid("reconnect_backoff_max (" + format_duration(reconnect_backoff_max) +
                   ") < reconnect_backoff_initial (" + format_duration(reconnect_backoff_initial) +
                   ")");
  }
  if (!(reconnect_backoff_multiplier >= 1.0)) {
    return invalid("reconnect_backoff_multiplier (" + to_string(reconnect_backoff_multiplier) +
                   ") must be >= 1");
  }
  if (!(reconnect_backoff_jitter >= 0.0 && reconnect_backoff_jitter <= 1.0)) {
    return invalid("reconnect_backoff_jitter (" + to_string(reconnect_backoff_jitter) +
                   ") must be in [0, 1]");
  }
  if (!(max_lifetime_jitter >= 0.0 && max_lifetime_jitter <= 0.5)) {
    return invalid("max_lifetime_jitter (" + to_string(max_lifetime_jitter) +
                   ") must be in [0, 0.5]");
  }
  if (auto r = circuit_breaker.validate(); !r) return r;
  if (sizing_mode() == SizingMode::reactive) {
    if (auto r = dynamic_sizing.validate(); !r) return r;
  }
  if (sizing_mode() == SizingMode::predictive) {
    if (auto r = predictive.validate(); !r) return r;
  }
  return ok();
}

std::string_view to_string(SizingMode m) noexcept {
  switch (m) {
    case SizingMode::fixed:
      return "fixed";
    case SizingMode::reactive:
      return "reactive";
    case SizingMode::predictive:
      return "predictive";
  }
  return "fixed";
}

std::optional<SizingMode> parse_sizing_mode(std::string_view text) noexcept {
  if (text == "fixed") return SizingMode::fixed;
  if (text == "reactive") return SizingMode::reactive;
  if (text == "predictive") return SizingMode::predictive;
  return std::nullopt;
}

Result<void> PredictiveSizingConfig::validate() const {
  if (sample_interval.count() <= 0) return invalid("predictive.sample_interval must be > 0");
  if (scale_down_delay.count() < 0) return invalid("predictive.scale_down_delay must be >= 0");
  if (auto problem = forecast_config_problem(forecast())) return invalid("predictive." + *problem);
  return ok();
}

Result<void> DynamicSizingConfig::validate() const {
  using std::to_string;
  auto bad = [](std::string m) { return invalid("dynamic_sizing." + m); };
  if (!(scale_up_utilization > 0.0 && scale_up_utilization <= 1.0)) {
    return bad("scale_up_utilization (" + to_string(scale_up_utilization) + ") must be in (0, 1]");
  }
  if (!(scale_down_utilization >= 0.0 && scale_down_utilization < scale_up_utilization)) {
    return bad("scale_down_utilization (" + to_string(scale_down_utilization) +
               ") must be in [0, scale_up_utilization)");
  }
  if (scale_up_cooldown.count() < 0 || scale_down_cooldown.count() < 0) {
    return bad("cooldowns must not be negative");
  }
  if (scale_up_step == 0) return bad("scale_up_step (0) must be >= 1");
  if (scale_down_step == 0) return bad("scale_down_step (0) must be >= 1");
  return ok();
}

Result<milliseconds> parse_duration(std::string_view text) {
  auto bad = [&](const char* rule) {
    return Error(errc::invalid_config, "invalid duration '" + std::string(text) + "': " + rule);
  };
  if (text.empty()) return bad("empty (use e.g. 250ms, 30s, 10m, 1h)");
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return bad("must start with a whole number");
  if (value < 0) return bad("must not be negative");
  std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  long long factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit.empty() && value == 0) {
    factor = 1;
  } else {
    return bad("unit must be one of ms, s, m, h");
  }
  if (value > (1LL << 50) / factor) return bad("too large");
  return milliseconds(value * factor);
}

std::string format_duration(milliseconds d) {
  const long long ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace connpool::core
