#include "fields.hpp"

#include "connpool/config/redact.hpp"

#include "values.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace connpool::config::detail {

namespace {

using core::milliseconds;
using core::PoolConfig;

// Stores a parsed value through `project` (which picks the member), or returns the rule.
template <class Target, class T, class Project>
std::optional<std::string> store(Target& target, Parsed<T> parsed, Project project) {
  if (!parsed.value) return std::move(parsed.rule);
  project(target) = std::move(*parsed.value);
  return std::nullopt;
}

// Accessors naming one PoolConfig member, top-level or inside a section (circuit_breaker, ...),
// so one setter/getter template serves both.
template <auto M>
struct Top {
  static auto& get(PoolSpec& p) { return p.pool.*M; }
  static const auto& get(const PoolSpec& p) { return p.pool.*M; }
};
template <auto S, auto M>
struct In {
  static auto& get(PoolSpec& p) { return (p.pool.*S).*M; }
  static const auto& get(const PoolSpec& p) { return (p.pool.*S).*M; }
};

template <class A>
std::optional<std::string> set_size(PoolSpec& p, std::string_view t) {
  return store(
      p, parse_size(t), [](PoolSpec & s) -> auto& { return A::get(s); });
}
template <class A>
std::string get_size(const PoolSpec& p) {
  return std::to_string(A::get(p));
}

template <class A>
std::optional<std::string> set_duration(PoolSpec& p, std::string_view t) {
  return store(
      p, parse_duration_value(t), [](PoolSpec & s) -> auto& { return A::get(s); });
}
template <class A>
std::string get_duration(const PoolSpec& p) {
  return core::format_duration(A::get(p));
}

template <class A>
std::optional<std::string> set_ratio(PoolSpec& p, std::string_view t) {
  return store(
      p, parse_ratio(t), [](PoolSpec & s) -> auto& { return A::get(s); });
}
template <class A>
std::string get_ratio(const PoolSpec& p) {
  // Shortest text that reads back as the same double ("0.1", not "0.100000").
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), A::get(p));
  return ec == std::errc() ? std::string(buf.data(), end) : std::to_string(A::get(p));
}

template <class A>
std::optional<std::string> set_bool(PoolSpec& p, std::string_view t) {
  return store(
      p, parse_bool(t), [](PoolSpec & s) -> auto& { return A::get(s); });
}
template <class A>
std::string get_bool(const PoolSpec& p) {
  return A::get(p) ? "true" : "false";
}

// "backend" is applied by the loader (it decides which other keys exist); the table entry is for
// key validation and display.
std::optional<std::string> set_backend(PoolSpec& p, std::string_view t) {
  auto b = parse_backend(t);
  if (!b) return "must be redis or firestore, got " + quote(t);
  p.backend = *b;
  return std::nullopt;
}

const PoolField kPoolFields[] = {
    {"backend", std::nullopt, ValueKind::backend, set_backend,
     [](const PoolSpec& p) { return std::string(to_string(p.backend)); }},
    {"url", Backend::redis, ValueKind::url,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_redis_url(t), [](PoolSpec & s) -> auto& { return s.redis.url; });
     },
     [](const PoolSpec& p) { return p.redis.url; }},
    {"auto_pipeline", Backend::redis, ValueKind::boolean,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_bool(t), [](PoolSpec & s) -> auto& { return s.redis.auto_pipeline; });
     },
     [](const PoolSpec& p) { return std::string(p.redis.auto_pipeline ? "true" : "false"); }},
    {"project_id", Backend::firestore, ValueKind::text,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_nonempty(t), [](PoolSpec & s) -> auto& { return s.firestore.project_id; });
     },
     [](const PoolSpec& p) { return p.firestore.project_id; }},
    {"database", Backend::firestore, ValueKind::text,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_nonempty(t), [](PoolSpec & s) -> auto& { return s.firestore.database; });
     },
     [](const PoolSpec& p) { return p.firestore.database; }},
    {"emulator_host", Backend::firestore, ValueKind::text,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_host_port(t), [](PoolSpec & s) -> auto& { return s.firestore.emulator_host; });
     },
     [](const PoolSpec& p) { return p.firestore.emulator_host; }},
    {"auto_batch", Backend::firestore, ValueKind::boolean,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_bool(t), [](PoolSpec & s) -> auto& { return s.firestore.auto_batch; });
     },
     [](const PoolSpec& p) { return std::string(p.firestore.auto_batch ? "true" : "false"); }},
    {"min_size", std::nullopt, ValueKind::size, set_size<Top<&PoolConfig::min_size>>,
     get_size<Top<&PoolConfig::min_size>>},
    {"max_size", std::nullopt, ValueKind::size, set_size<Top<&PoolConfig::max_size>>,
     get_size<Top<&PoolConfig::max_size>>},
    {"min_idle", std::nullopt, ValueKind::size, set_size<Top<&PoolConfig::min_idle>>,
     get_size<Top<&PoolConfig::min_idle>>},
    {"acquire_timeout", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::acquire_timeout>>,
     get_duration<Top<&PoolConfig::acquire_timeout>>},
    {"connect_timeout", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::connect_timeout>>,
     get_duration<Top<&PoolConfig::connect_timeout>>},
    {"validation_timeout", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::validation_timeout>>,
     get_duration<Top<&PoolConfig::validation_timeout>>},
    {"max_idle_time", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::max_idle_time>>, get_duration<Top<&PoolConfig::max_idle_time>>},
    {"max_lifetime", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::max_lifetime>>, get_duration<Top<&PoolConfig::max_lifetime>>},
    {"max_lifetime_jitter", std::nullopt, ValueKind::ratio,
     set_ratio<Top<&PoolConfig::max_lifetime_jitter>>,
     get_ratio<Top<&PoolConfig::max_lifetime_jitter>>},
    {"health_check_interval", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::health_check_interval>>,
     get_duration<Top<&PoolConfig::health_check_interval>>},
    {"validate_after_idle", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::validate_after_idle>>,
     get_duration<Top<&PoolConfig::validate_after_idle>>},
    {"leak_detection_threshold", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::leak_detection_threshold>>,
     get_duration<Top<&PoolConfig::leak_detection_threshold>>},
    {"reconnect_backoff_initial", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::reconnect_backoff_initial>>,
     get_duration<Top<&PoolConfig::reconnect_backoff_initial>>},
    {"reconnect_backoff_max", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::reconnect_backoff_max>>,
     get_duration<Top<&PoolConfig::reconnect_backoff_max>>},
    {"reconnect_backoff_multiplier", std::nullopt, ValueKind::ratio,
     set_ratio<Top<&PoolConfig::reconnect_backoff_multiplier>>,
     get_ratio<Top<&PoolConfig::reconnect_backoff_multiplier>>},
    {"reconnect_backoff_jitter", std::nullopt, ValueKind::ratio,
     set_ratio<Top<&PoolConfig::reconnect_backoff_jitter>>,
     get_ratio<Top<&PoolConfig::reconnect_backoff_jitter>>},
    {"min_size_backoff_cap", std::nullopt, ValueKind::duration,
     set_duration<Top<&PoolConfig::min_size_backoff_cap>>,
     get_duration<Top<&PoolConfig::min_size_backoff_cap>>},
    {"idle_order", std::nullopt, ValueKind::order,
     [](PoolSpec& p, std::string_view t) {
       return store(
           p, parse_idle_order(t), [](PoolSpec & s) -> auto& { return s.pool.idle_order; });
     },
     [](const PoolSpec& p) {
       return std::string(p.pool.idle_order == core::IdleOrder::lifo ? "lifo" : "fifo");
     }},
    {"max_leases_per_connection", std::nullopt, ValueKind::size,
     set_size<Top<&PoolConfig::max_leases_per_connection>>,
     get_size<Top<&PoolConfig::max_leases_per_connection>>},
    {"sizing", std::nullopt, ValueKind::order,
     [](PoolSpec& p, std::string_view t) -> std::optional<std::string> {
       auto mode = core::parse_sizing_mode(t);
       if (!mode) return "must be fixed, reactive or predictive, got " + quote(t);
       p.pool.sizing = *mode;
       return std::nullopt;
     },
     [](const PoolSpec& p) { return std::string(core::to_string(p.pool.sizing)); }},
    // circuit_breaker.*: CircuitBreakerConfig (connpool/core/circuit_breaker.hpp).
    {"circuit_breaker.enabled", std::nullopt, ValueKind::boolean,
     set_bool<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::enabled>>,
     get_bool<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::enabled>>},
    {"circuit_breaker.window", std::nullopt, ValueKind::text,
     [](PoolSpec& p, std::string_view t) -> std::optional<std::string> {
       using W = core::CircuitBreakerConfig::Window;
       if (t == "count") {
         p.pool.circuit_breaker.window = W::count;
       } else if (t == "time") {
         p.pool.circuit_breaker.window = W::time;
       } else {
         return "must be count or time, got " + quote(t);
       }
       return std::nullopt;
     },
     [](const PoolSpec& p) {
       return std::string(p.pool.circuit_breaker.window == core::CircuitBreakerConfig::Window::count
                              ? "count"
                              : "time");
     }},
    {"circuit_breaker.window_size", std::nullopt, ValueKind::size,
     set_size<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::window_size>>,
     get_size<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::window_size>>},
    {"circuit_breaker.window_duration", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::window_duration>>,
     get_duration<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::window_duration>>},
    {"circuit_breaker.failure_rate_threshold", std::nullopt, ValueKind::ratio,
     set_ratio<
         In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::failure_rate_threshold>>,
     get_ratio<
         In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::failure_rate_threshold>>},
    {"circuit_breaker.minimum_calls", std::nullopt, ValueKind::size,
     set_size<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::minimum_calls>>,
     get_size<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::minimum_calls>>},
    {"circuit_breaker.open_duration", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::open_duration>>,
     get_duration<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::open_duration>>},
    {"circuit_breaker.half_open_calls", std::nullopt, ValueKind::size,
     set_size<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::half_open_calls>>,
     get_size<In<&PoolConfig::circuit_breaker, &core::CircuitBreakerConfig::half_open_calls>>},
    // dynamic_sizing.*: DynamicSizingConfig (connpool/core/pool_config.hpp), the parameters of
    // sizing: reactive. dynamic_sizing.enabled is deprecated (loader.cpp warns).
    {"dynamic_sizing.enabled", std::nullopt, ValueKind::boolean,
     set_bool<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::enabled>>,
     get_bool<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::enabled>>},
    {"dynamic_sizing.scale_up_utilization", std::nullopt, ValueKind::ratio,
     set_ratio<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_up_utilization>>,
     get_ratio<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_up_utilization>>},
    {"dynamic_sizing.scale_down_utilization", std::nullopt, ValueKind::ratio,
     set_ratio<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_down_utilization>>,
     get_ratio<
         In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_down_utilization>>},
    {"dynamic_sizing.scale_up_cooldown", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_up_cooldown>>,
     get_duration<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_up_cooldown>>},
    {"dynamic_sizing.scale_down_cooldown", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_down_cooldown>>,
     get_duration<
         In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_down_cooldown>>},
    {"dynamic_sizing.scale_up_step", std::nullopt, ValueKind::size,
     set_size<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_up_step>>,
     get_size<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_up_step>>},
    {"dynamic_sizing.scale_down_step", std::nullopt, ValueKind::size,
     set_size<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_down_step>>,
     get_size<In<&PoolConfig::dynamic_sizing, &core::DynamicSizingConfig::scale_down_step>>},
    // predictive.*: PredictiveSizingConfig (connpool/core/pool_config.hpp).
    {"predictive.sample_interval", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::sample_interval>>,
     get_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::sample_interval>>},
    {"predictive.level_time_constant", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::level_time_constant>>,
     get_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::level_time_constant>>},
    {"predictive.trend_time_constant", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::trend_time_constant>>,
     get_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::trend_time_constant>>},
    {"predictive.horizon", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::horizon>>,
     get_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::horizon>>},
    {"predictive.headroom", std::nullopt, ValueKind::ratio,
     set_ratio<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::headroom>>,
     get_ratio<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::headroom>>},
    {"predictive.scale_down_delay", std::nullopt, ValueKind::duration,
     set_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::scale_down_delay>>,
     get_duration<In<&PoolConfig::predictive, &core::PredictiveSizingConfig::scale_down_delay>>},
};

// admin.allowed_hosts: "a.example, b.example" -> {"a.example", "b.example"}.
std::optional<std::string> set_allowed_hosts(AdminConfig& a, std::string_view t) {
  std::vector<std::string> hosts;
  while (!t.empty()) {
    const auto comma = t.find(',');
    auto item = t.substr(0, comma);
    t = comma == std::string_view::npos ? std::string_view{} : t.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (item.find_first_of(" /:@[]") != std::string_view::npos) {
      return "must be comma-separated host names (no port, no scheme), got " +
             std::string(item.size() > 64 ? item.substr(0, 64) : item);
    }
    hosts.emplace_back(item);
  }
  a.allowed_hosts = std::move(hosts);
  return std::nullopt;
}

std::string get_allowed_hosts(const AdminConfig& a) {
  std::string out;
  for (const auto& h : a.allowed_hosts) out += (out.empty() ? "" : ",") + h;
  return out;
}

const std::array<AdminField, 7> kAdminFields = {{
    {"bind", ValueKind::text,
     [](AdminConfig& a, std::string_view t) {
       return store(
           a, parse_nonempty(t), [](AdminConfig & s) -> auto& { return s.bind; });
     },
     [](const AdminConfig& a) { return a.bind; }},
    {"port", ValueKind::port,
     [](AdminConfig& a, std::string_view t) {
       return store(
           a, parse_port(t), [](AdminConfig & s) -> auto& { return s.port; });
     },
     [](const AdminConfig& a) { return std::to_string(a.port); }},
    {"token", ValueKind::secret,
     [](AdminConfig& a, std::string_view t) -> std::optional<std::string> {
       a.token = std::string(t);
       return std::nullopt;
     },
     [](const AdminConfig& a) { return a.token; }},
    {"protect_all", ValueKind::boolean,
     [](AdminConfig& a, std::string_view t) {
       return store(
           a, parse_bool(t), [](AdminConfig & s) -> auto& { return s.protect_all; });
     },
     [](const AdminConfig& a) { return std::string(a.protect_all ? "true" : "false"); }},
    {"allowed_hosts", ValueKind::text, set_allowed_hosts, get_allowed_hosts},
    {"max_connections", ValueKind::size,
     [](AdminConfig& a, std::string_view t) -> std::optional<std::string> {
       auto parsed = parse_size(t);
       if (parsed.value && *parsed.value == 0) return "must be >= 1, got 0";
       return store(
           a, std::move(parsed), [](AdminConfig & s) -> auto& { return s.max_connections; });
     },
     [](const AdminConfig& a) { return std::to_string(a.max_connections); }},
    {"idle_timeout", ValueKind::duration,
     [](AdminConfig& a, std::string_view t) -> std::optional<std::string> {
       auto parsed = parse_duration_value(t);
       if (parsed.value && parsed.value->count() <= 0) return "must be > 0";
       return store(
           a, std::move(parsed), [](AdminConfig & s) -> auto& { return s.idle_timeout; });
     },
     [](const AdminConfig& a) { return core::format_duration(a.idle_timeout); }},
}};

}  // namespace

std::span<const PoolField> pool_fields() {
  return kPoolFields;
}

const PoolField* find_pool_field(std::string_view name) {
  for (const PoolField& f : kPoolFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string_view> pool_field_names() {
  std::vector<std::string_view> names;
  for (const PoolField& f : kPoolFields) names.push_back(f.name);
  return names;
}

std::vector<std::string_view> pool_keys_in(std::string_view section) {
  std::vector<std::string_view> names;
  for (const PoolField& f : kPoolFields) {
    const auto dot = f.name.find('.');
    if (section.empty()) {
      // Plain keys, and each section's name once.
      std::string_view key = f.name.substr(0, dot);
      if (std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
    } else if (dot != std::string_view::npos && f.name.substr(0, dot) == section) {
      names.push_back(f.name.substr(dot + 1));
    }
  }
  return names;
}

bool is_pool_section(std::string_view key) {
  for (const PoolField& f : kPoolFields) {
    if (f.name.size() > key.size() && f.name.starts_with(key) && f.name[key.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::span<const AdminField> admin_fields() {
  return kAdminFields;
}

const AdminField* find_admin_field(std::string_view name) {
  for (const AdminField& f : kAdminFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string_view> admin_field_names() {
  std::vector<std::string_view> names;
  for (const AdminField& f : kAdminFields) names.push_back(f.name);
  return names;
}

std::string display(ValueKind kind, const std::string& raw) {
  if (kind == ValueKind::url) return redact_url(raw);
  if (kind == ValueKind::secret) return redact_secret(raw);
  return raw;
}

}  // namespace connpool::config::detail
