#include "admin_json.hpp"

#include "redact.hpp"

#include <ctime>

namespace connpool::monitor::detail {
namespace {

using nlohmann::json;

json latency_json(const HistogramSnapshot& h) {
  json buckets = json::array();
  for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
    buckets.push_back(json::array({h.upper_bounds[i], h.cumulative[i]}));
  }
  return {{"count", h.count},
          {"sum", h.sum_seconds},
          {"p50", h.quantile(0.50)},
          {"p99", h.quantile(0.99)},
          {"buckets", std::move(buckets)}};
}

json config_json(const core::PoolConfig& c) {
  return {
      {"min_size", c.min_size},
      {"max_size", c.max_size},
      {"min_idle", c.min_idle},
      {"max_leases_per_connection", c.max_leases_per_connection},
      {"acquire_timeout_ms", c.acquire_timeout.count()},
      {"connect_timeout_ms", c.connect_timeout.count()},
      {"validation_timeout_ms", c.validation_timeout.count()},
      {"max_idle_time_ms", c.max_idle_time.count()},
      {"max_lifetime_ms", c.max_lifetime.count()},
      {"health_check_interval_ms", c.health_check_interval.count()},
      {"validate_after_idle_ms", c.validate_after_idle.count()},
      {"leak_detection_threshold_ms", c.leak_detection_threshold.count()},
      {"idle_order", c.idle_order == core::IdleOrder::lifo ? "lifo" : "fifo"},
      {"circuit_breaker",
       {{"enabled", c.circuit_breaker.enabled},
        {"failure_rate_threshold", c.circuit_breaker.failure_rate_threshold},
        {"minimum_calls", c.circuit_breaker.minimum_calls},
        {"open_duration_ms", c.circuit_breaker.open_duration.count()}}},
      {"sizing", core::to_string(c.sizing_mode())},
      {"dynamic_sizing",
       {{"enabled", c.dynamic_sizing.enabled},
        {"scale_up_utilization", c.dynamic_sizing.scale_up_utilization},
        {"scale_down_utilization", c.dynamic_sizing.scale_down_utilization}}},
      {"predictive",
       {{"sample_interval_ms", c.predictive.sample_interval.count()},
        {"horizon_ms", c.predictive.horizon.count()},
        {"headroom", c.predictive.headroom},
        {"scale_down_delay_ms", c.predictive.scale_down_delay.count()}}},
  };
}

json error_json(const std::optional<Error>& e) {
  if (!e) return nullptr;
  return {{"type", to_string(e->code())}, {"message", shown_error_text(e->message())}};
}

json counters_json(const core::PoolStats& s) {
  json closed = json::object();
  for (std::size_t r = 0; r < s.closed_by_reason.size(); ++r) {
    closed[std::string(core::to_string(core::CloseReason(r)))] = s.closed_by_reason[r];
  }
  json errors = json::object();
  for (std::size_t e = 0; e < s.errors_by_type.size(); ++e) {
    if (s.errors_by_type[e] != 0) {
      errors[std::string(to_string(static_cast<errc>(e)))] = s.errors_by_type[e];
    }
  }
  return {
      {"acquires", s.acquires},
      {"acquire_timeouts", s.acquire_timeouts},
      {"created", s.created},
      {"connect_failures", s.connect_failures},
      {"closed", std::move(closed)},
      {"closed_total", s.closed_total()},
      {"errors", std::move(errors)},
      {"health_checks", {{"ok", s.health_checks_ok}, {"failed", s.health_checks_failed}}},
      {"leaks_detected", s.leaks_detected},
  };
}

json ns_to_seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

json lifetimes_json(const core::LifetimeStats& l) {
  return {
      {"live_age_p50_seconds", ns_to_seconds(l.live_age_p50)},
      {"live_age_max_seconds", ns_to_seconds(l.live_age_max)},
      {"live_uses_p50", l.live_uses_p50},
      {"live_uses_max", l.live_uses_max},
      {"closed", l.closed},
      {"closed_lifetime_mean_seconds", ns_to_seconds(l.closed_lifetime_mean)},
      {"closed_lifetime_max_seconds", ns_to_seconds(l.closed_lifetime_max)},
      {"closed_uses_mean", l.closed_uses_mean},
      {"closed_busy_fraction_mean", l.closed_busy_fraction_mean},
  };
}

json circuit_json(const core::PoolStats& s) {
  json since = nullptr;
  if (s.circuit_since) since = format_time(*s.circuit_since);
  return {
      {"enabled", s.circuit_enabled},
      {"state", core::to_string(s.circuit_state)},
      {"since", std::move(since)},
      {"failure_rate", s.circuit_failure_rate},
      {"transitions", s.circuit_transitions},
      {"rejections", s.circuit_rejections},
  };
}

json connections_json(const std::vector<core::ConnectionInfo>& list) {
  json out = json::array();
  for (const auto& c : list) {
    out.push_back({
        {"id", c.id},
        {"state", core::to_string(c.state)},
        {"age_seconds", ns_to_seconds(c.age)},
        {"idle_seconds", ns_to_seconds(c.idle_for)},
        {"uses", c.use_count},
        {"busy_seconds", ns_to_seconds(c.busy_time)},
        {"leases", c.leases},
        {"errors", c.errors},
    });
  }
  return out;
}

}  // namespace

std::string_view pool_state(const core::PoolStats& s, bool ready) {
  if (s.closed) return "closed";
  if (s.circuit_enabled && s.circuit_state == core::CircuitState::open) return "circuit_open";
  if (!ready || (s.circuit_enabled && s.circuit_state == core::CircuitState::half_open)) {
    return "degraded";
  }
  return "healthy";
}

std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = time_point_cast<seconds>(t);
  const auto ms = duration_cast<milliseconds>(t - secs).count();
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

PoolReadiness pool_readiness(const core::PoolStats& s) {
  PoolReadiness r;
  if (s.closed) r.reasons.push_back("pool is closed");
  if (s.total < s.min_size) {
    r.reasons.push_back(std::to_string(s.total) + " of min_size " + std::to_string(s.min_size) +
                        " connections open");
  }
  if (s.last_health_check_at && !s.last_health_check_ok) {
    r.reasons.push_back("last health check failed at " + format_time(*s.last_health_check_at));
  }
  if (s.circuit_enabled && s.circuit_state == core::CircuitState::open) {
    r.reasons.push_back("circuit breaker is open");
  }
  r.ready = r.reasons.empty();
  return r;
}

json pool_json(const PoolSource& pool, bool with_connections) {
  const auto s = pool.stats();
  const auto readiness = pool_readiness(s);
  json j = {
      {"name", pool.name},
      {"backend", pool.backend},
      {"target", redact_secrets(pool.target)},
      {"node", pool.node.empty() ? json(nullptr) : json(pool.node)},
      {"environment", pool.environment},
      {"state", pool_state(s, readiness.ready)},
      {"ready", readiness.ready},
      {"not_ready_reasons", readiness.reasons},
      {"closed", s.closed},
      {"size",
       {{"idle", s.idle},
        {"active", s.in_use},
        {"connecting", s.connecting},
        {"total", s.total},
        {"min", s.min_size},
        {"max", s.max_size}}},
      {"sizing", core::to_string(s.sizing)},
      {"target_size", s.target_size},
      {"forecast", s.forecast},
      {"acquire_rate", s.acquire_rate},
      {"leases", s.leases},
      {"waiting", s.waiting},
      {"utilization", s.utilization},
      {"counters", counters_json(s)},
      {"circuit", circuit_json(s)},
      {"lifetimes", lifetimes_json(s.lifetimes)},
      {"last_health_check", nullptr},
      {"last_error", error_json(s.last_error)},
      {"last_connect_error", error_json(s.last_connect_error)},
  };
  j["config"] = pool.config ? config_json(pool.config()) : json(nullptr);
  if (with_connections) {
    j["connections"] = pool.connections ? connections_json(pool.connections()) : json(nullptr);
  }
  if (s.last_health_check_at) {
    j["last_health_check"] = {{"at", format_time(*s.last_health_check_at)},
                              {"ok", s.last_health_check_ok}};
  }
  if (pool.observer) {
    j["wait_seconds"] = latency_json(pool.observer->wait());
    j["usage_seconds"] = latency_json(pool.observer->usage());
    j["connect_seconds"] = latency_json(pool.observer->connect());
  } else {
    j["wait_seconds"] = nullptr;
    j["usage_seconds"] = nullptr;
    j["connect_seconds"] = nullptr;
  }
  return j;
}

json proxies_json(const std::vector<std::shared_ptr<const ProxySource>>& proxies) {
  json out = json::array();
  for (const auto& p : proxies) {
    const ProxySnapshot s = p->snapshot();
    out.push_back({
        {"name", p->name},
        {"pool", p->pool},
        {"running", s.running},
        {"listen", s.listen},
        {"clients",
         {{"connected", s.clients_connected},
          {"pinned", s.clients_pinned},
          {"subscribed", s.clients_subscribed},
          {"total", s.clients_total}}},
        {"commands", s.commands},
        {"refused_by_rule", s.refused_by_rule},
        {"disconnects", s.disconnects},
        {"latency_seconds", latency_json(s.latency)},
    });
  }
  return out;
}

json readiness_json(const PoolRegistry& pools, bool& ready) {
  ready = true;
  json list = json::array();
  for (const auto& p : pools.list()) {
    const auto r = pool_readiness(p->stats());
    ready = ready && r.ready;
    list.push_back({{"name", p->name}, {"ready", r.ready}, {"reasons", r.reasons}});
  }
  return {{"status", ready ? "ready" : "not_ready"}, {"pools", std::move(list)}};
}

std::string error_body(unsigned status, std::string_view code, std::string_view message) {
  const json j = {{"error", {{"status", status}, {"code", code}, {"message", message}}}};
  return j.dump();
}

}  // namespace connpool::monitor::detail
