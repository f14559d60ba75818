#include "connpool/monitor/metrics_registry.hpp"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <sstream>
#include <utility>

namespace connpool::monitor {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The identity labels of one pool's series: `node` only for a pool serving a cluster node, so
// single-endpoint pools keep exactly the labels they always had.
ClientMetric labelled(std::string_view name, const std::string& backend, const std::string& node) {
  ClientMetric m;
  m.label.push_back({"pool", metric_pool_label(name, node)});
  m.label.push_back({"backend", backend});
  if (!node.empty()) m.label.push_back({"node", node});
  return m;
}

ClientMetric with_label(ClientMetric m, std::string name, std::string_view value) {
  m.label.push_back({std::move(name), std::string(value)});
  return m;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_counter(MetricFamily& f, ClientMetric m, std::uint64_t value) {
  m.counter.value = static_cast<double>(value);
  f.metric.push_back(std::move(m));
}

void add_gauge(MetricFamily& f, ClientMetric m, double value) {
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

void add_histogram(MetricFamily& f, ClientMetric m, const HistogramSnapshot& s) {
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = s.sum_seconds;
  for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
    const double bound =
        i < s.upper_bounds.size() ? s.upper_bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({s.cumulative[i], bound});
  }
  f.metric.push_back(std::move(m));
}

// The observer-driven families, one entry per pool in each.
void collect_observers(const std::vector<std::shared_ptr<PrometheusObserver>>& observers,
                       std::vector<MetricFamily>& out) {
  auto wait = family("connection_pool_wait_seconds",
                     "Time acquire() waited for a connection (successful acquires).",
                     MetricType::Histogram);
  auto usage = family("connection_usage_seconds", "Time a leased connection was held.",
                      MetricType::Histogram);
  auto connect = family("connection_pool_connect_seconds",
                        "Time to open a connection (successful connects).", MetricType::Histogram);
  auto timeouts =
      family("connection_pool_timeouts_total",
             "Acquires that failed because acquire_timeout expired.", MetricType::Counter);
  auto created = family("connection_pool_connections_created_total", "Connections opened.",
                        MetricType::Counter);
  auto closed = family("connection_pool_connections_closed_total", "Connections closed, by reason.",
                       MetricType::Counter);
  auto errors = family("connection_pool_errors_total",
                       "Errors seen by the pool, by type (connpool errc).", MetricType::Counter);
  auto health =
      family("connection_pool_health_checks_total",
             "Connection validations (background or on borrow), by result.", MetricType::Counter);
  auto leaks = family("connection_pool_leaks_detected_total",
                      "Leases held longer than leak_detection_threshold.", MetricType::Counter);

  for (const auto& o : observers) {
    const auto base = labelled(o->pool(), o->backend(), o->node());
    const auto c = o->counters();
    add_histogram(wait, base, o->wait());
    add_histogram(usage, base, o->usage());
    add_histogram(connect, base, o->connect());
    add_counter(timeouts, base, c.timeouts);
    add_counter(created, base, c.created);
    // Every reason is exported from the start so rate() works from the first scrape.
    for (std::size_t r = 0; r < c.closed.size(); ++r) {
      add_counter(closed, with_label(base, "reason", core::to_string(core::CloseReason(r))),
                  c.closed[r]);
    }
    // Errors: the types a pool produces from the start (kPoolErrorTypes, 0 until they happen),
    // any other type once seen; all 33 errc values per pool would drown the useful ones.
    for (std::size_t e = 0; e < c.errors.size(); ++e) {
      const auto type = static_cast<errc>(e);
      const bool known =
          std::find(kPoolErrorTypes.begin(), kPoolErrorTypes.end(), type) != kPoolErrorTypes.end();
      if (c.errors[e] == 0 && !known) continue;
      add_counter(errors, with_label(base, "type", to_string(type)), c.errors[e]);
    }
    add_counter(health, with_label(base, "result", "ok"), c.health_checks_ok);
    add_counter(health, with_label(base, "result", "failed"), c.health_checks_failed);
    add_counter(leaks, base, c.leaks);
  }
  for (auto* f :
       {&wait, &usage, &connect, &timeouts, &created, &closed, &errors, &health, &leaks}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
}

// The state gauges, read from each pool's stats() now.
void collect_pools(const PoolRegistry& pools, std::vector<MetricFamily>& out) {
  auto size = family("connection_pool_size", "Connections by state.", MetricType::Gauge);
  auto waiting =
      family("connection_pool_waiting", "Acquirers queued for a connection.", MetricType::Gauge);
  auto utilization =
      family("connection_pool_utilization",
             "Leases in flight / (max_size * max_leases_per_connection), 0..1.", MetricType::Gauge);
  auto max_size = family("connection_pool_max_size", "Configured maximum number of connections.",
                         MetricType::Gauge);
  auto min_size = family("connection_pool_min_size", "Configured minimum number of connections.",
                         MetricType::Gauge);
  auto circuit = family("connection_pool_circuit_state",
                        "1 for the circuit breaker's current state (closed when disabled), else 0.",
                        MetricType::Gauge);
  auto target = family("connection_pool_target_size",
                       "Connections the pool aims to keep open (min_size when sizing is fixed).",
                       MetricType::Gauge);
  auto forecast = family("connection_pool_forecast",
                         "Predictive sizing: connections demanded predictive.horizon ahead (0 "
                         "in the other sizing modes).",
                         MetricType::Gauge);

  for (const auto& p : pools.list()) {
    const auto s = p->stats();
    const auto base = labelled(p->name, p->backend, p->node);
    add_gauge(size, with_label(base, "state", "idle"), static_cast<double>(s.idle));
    add_gauge(size, with_label(base, "state", "active"), static_cast<double>(s.in_use));
    add_gauge(size, with_label(base, "state", "connecting"), static_cast<double>(s.connecting));
    add_gauge(size, with_label(base, "state", "total"), static_cast<double>(s.total));
    add_gauge(waiting, base, static_cast<double>(s.waiting));
    add_gauge(utilization, base, s.utilization);
    add_gauge(max_size, base, static_cast<double>(s.max_size));
    add_gauge(min_size, base, static_cast<double>(s.min_size));
    add_gauge(target, base, static_cast<double>(s.target_size));
    add_gauge(forecast, base, s.forecast);
    for (auto state :
         {core::CircuitState::closed, core::CircuitState::open, core::CircuitState::half_open}) {
      add_gauge(circuit, with_label(base, "state", core::to_string(state)),
                s.circuit_state == state ? 1.0 : 0.0);
    }
  }
  for (auto* f :
       {&size, &waiting, &utilization, &max_size, &min_size, &target, &forecast, &circuit}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
}

}  // namespace

MetricsRegistry::MetricsRegistry(std::shared_ptr<const PoolRegistry> pools)
    : pools_(std::move(pools)), registry_(std::make_shared<prometheus::Registry>()) {}

MetricsRegistry::~MetricsRegistry() = default;

std::shared_ptr<PrometheusObserver> MetricsRegistry::make_observer(std::string_view pool,
                                                                   std::string_view backend,
                                                                   std::string_view node) {
  std::lock_guard lock(mutex_);
  for (const auto& o : observers_) {
    if (o->pool() == pool && o->backend() == backend && o->node() == node) return o;
  }
  auto o = std::make_shared<PrometheusObserver>(std::string(pool), std::string(backend),
                                                std::string(node));
  observers_.push_back(o);
  return o;
}

void MetricsRegistry::remove(std::string_view pool) {
  std::lock_guard lock(mutex_);
  std::erase_if(observers_, [&](const auto& o) { return o->pool() == pool; });
}

std::vector<prometheus::MetricFamily> MetricsRegistry::collect() const {
  std::vector<std::shared_ptr<PrometheusObserver>> observers;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mutex_);
    observers = observers_;
    collectors = collectors_;
    // A cluster node pool's observer that no pool holds any more (the node left the slot map
    // and its pools are gone) is exported this one last time, then forgotten: nodes come and go
    // (new addresses after every redeploy), and their series must not pile up forever. Held
    // here and in `observers`: use_count 2.
    std::erase_if(observers_, [](const std::shared_ptr<PrometheusObserver>& o) {
      return !o->node().empty() && o.use_count() <= 2;
    });
  }
  std::vector<MetricFamily> out;
  collect_observers(observers, out);
  if (pools_) collect_pools(*pools_, out);
  for (const auto& collect : collectors) collect(out);
  auto own = registry_->Collect();
  std::move(own.begin(), own.end(), std::back_inserter(out));
  return out;
}

void MetricsRegistry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::scrape() const {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, collect());
  return std::move(text).str();
}

}  // namespace connpool::monitor
