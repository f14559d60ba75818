#include "connpool/monitor/prometheus_observer.hpp"

#include <utility>

namespace connpool::monitor {

std::string metric_pool_label(std::string_view name, std::string_view node) {
  std::string label(name);
  if (node.empty()) return label;
  const std::string suffix = "@" + std::string(node);
  if (const auto at = label.find(suffix); at != std::string::npos && at > 0) {
    label.erase(at, suffix.size());
  }
  return label;
}

PrometheusObserver::PrometheusObserver(std::string pool, std::string backend, std::string node)
    : pool_(std::move(pool)), backend_(std::move(backend)), node_(std::move(node)) {}

void PrometheusObserver::on_acquired(nanoseconds wait) {
  wait_.record(wait);
}

void PrometheusObserver::on_released(nanoseconds usage) {
  usage_.record(usage);
  bump(releases_);
}

void PrometheusObserver::on_acquire_timeout(nanoseconds /*waited*/) {
  bump(timeouts_);
}

void PrometheusObserver::on_created(nanoseconds connect_time) {
  connect_.record(connect_time);
  bump(created_);
}

void PrometheusObserver::on_destroyed(core::CloseReason reason) {
  const auto i = static_cast<std::size_t>(reason);
  // An out-of-range value would be a core bug; dropping it beats writing past the array.
  if (i < closed_.size()) bump(closed_[i]);
}

void PrometheusObserver::on_health_check(bool ok, nanoseconds /*duration*/) {
  bump(ok ? health_ok_ : health_failed_);
}

void PrometheusObserver::on_error(const Error& error) {
  auto i = static_cast<std::size_t>(error.code());
  if (i >= errors_.size()) i = static_cast<std::size_t>(errc::unknown);
  bump(errors_[i]);
}

void PrometheusObserver::on_leak_detected(nanoseconds /*held*/,
                                          const std::source_location& /*where*/) {
  // The source location stays out of metrics on purpose: it would make one series per call
  // site. The pool logs it.
  bump(leaks_);
}

PrometheusObserver::Counters PrometheusObserver::counters() const {
  Counters c;
  c.acquires = wait_.snapshot().count;
  c.releases = releases_.load(std::memory_order_relaxed);
  c.timeouts = timeouts_.load(std::memory_order_relaxed);
  c.created = created_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < closed_.size(); ++i) {
    c.closed[i] = closed_[i].load(std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    c.errors[i] = errors_[i].load(std::memory_order_relaxed);
  }
  c.health_checks_ok = health_ok_.load(std::memory_order_relaxed);
  c.health_checks_failed = health_failed_.load(std::memory_order_relaxed);
  c.leaks = leaks_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace connpool::monitor
