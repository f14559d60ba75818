// Prometheus families of the proxies (see proxy_metrics.hpp).
#include "connpool/proxy/proxy_metrics.hpp"

#include <limits>

namespace connpool::proxy {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric labels(const ProxyMetricsSource& p, const char* key = nullptr,
                    std::string_view value = {}) {
  ClientMetric m;
  m.label.push_back({"proxy", p.name});
  m.label.push_back({"pool", p.pool});
  if (key) m.label.push_back({key, std::string(value)});
  return m;
}

void gauge(MetricFamily& f, ClientMetric m, double v) {
  m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

void counter(MetricFamily& f, ClientMetric m, std::uint64_t v) {
  m.counter.value = static_cast<double>(v);
  f.metric.push_back(std::move(m));
}

}  // namespace

void collect_proxy_metrics(const std::vector<ProxyMetricsSource>& proxies,
                           std::vector<MetricFamily>& out) {
  if (proxies.empty()) return;
  auto clients =
      family("connection_proxy_clients", "Clients connected to the proxy.", MetricType::Gauge);
  auto pinned = family("connection_proxy_pinned_clients",
                       "Clients holding an exclusive lease (MULTI, WATCH, SELECT, blocking).",
                       MetricType::Gauge);
  auto subscribed =
      family("connection_proxy_subscribed_clients",
             "Clients in Pub/Sub mode (each on a subscriber connection).", MetricType::Gauge);
  auto commands = family("connection_proxy_commands_total",
                         "Commands by result: ok, error (an error reply), failed (not answered "
                         "upstream), local (answered by the proxy).",
                         MetricType::Counter);
  auto refused = family("connection_proxy_refused_total", "Commands refused by the proxy, by rule.",
                        MetricType::Counter);
  auto disconnects =
      family("connection_proxy_disconnects_total",
             "Clients the proxy turned away or disconnected, by reason.", MetricType::Counter);
  auto latency =
      family("connection_proxy_command_duration_seconds",
             "Time from a forwarded command's arrival to its reply.", MetricType::Histogram);
  for (const auto& p : proxies) {
    const auto server = p.server.lock();
    if (!server) continue;
    const ProxyStats s = server->stats();
    gauge(clients, labels(p), static_cast<double>(s.clients_connected));
    gauge(pinned, labels(p), static_cast<double>(s.clients_pinned));
    gauge(subscribed, labels(p), static_cast<double>(s.clients_subscribed));
    counter(commands, labels(p, "result", "ok"), s.commands_ok);
    counter(commands, labels(p, "result", "error"), s.commands_error);
    counter(commands, labels(p, "result", "failed"), s.commands_failed);
    counter(commands, labels(p, "result", "local"), s.commands_local);
    for (const auto& [rule, n] : s.refused_by_rule) counter(refused, labels(p, "rule", rule), n);
    counter(disconnects, labels(p, "reason", "max_clients"), s.clients_rejected);
    counter(disconnects, labels(p, "reason", "output_overflow"), s.clients_overflowed);
    counter(disconnects, labels(p, "reason", "idle_timeout"), s.clients_idle_closed);
    ClientMetric h = labels(p);
    h.histogram.sample_count = s.latency.count;
    h.histogram.sample_sum = s.latency.sum_seconds;
    for (std::size_t i = 0; i < s.latency.cumulative.size(); ++i) {
      const double bound = i < s.latency.upper_bounds.size()
                               ? s.latency.upper_bounds[i]
                               : std::numeric_limits<double>::infinity();
      h.histogram.bucket.push_back({s.latency.cumulative[i], bound});
    }
    latency.metric.push_back(std::move(h));
  }
  for (auto* f : {&clients, &pinned, &subscribed, &commands, &refused, &disconnects, &latency}) {
    out.push_back(std::move(*f));
  }
}

}  // namespace connpool::proxy
