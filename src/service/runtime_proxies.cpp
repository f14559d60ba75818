// The configuration's proxies (`proxies:` in the YAML file), started next to the pools they
// forward to (docs/proxy.md#under-connpool-serve).
#include "connpool/proxy/proxy_metrics.hpp"
#include "connpool/proxy/proxy_server.hpp"
#include "connpool/service/runtime.hpp"

#include <cstdlib>

namespace connpool::service {
namespace {

// The admin API's view of a proxy (monitor does not link connpool_proxy). Weak like the
// metrics source: the registry must not keep a stopped proxy alive.
monitor::ProxySource admin_source(const Runtime::ProxyEntry& entry) {
  std::weak_ptr<const proxy::ProxyServer> weak = entry.server;
  return {entry.name, entry.pool, [weak] {
            monitor::ProxySnapshot out;
            const auto server = weak.lock();
            if (!server) {
              out.running = false;
              return out;
            }
            for (const auto& e : server->endpoints()) out.listen.push_back(e.to_string());
            const proxy::ProxyStats s = server->stats();
            out.clients_connected = s.clients_connected;
            out.clients_pinned = s.clients_pinned;
            out.clients_subscribed = s.clients_subscribed;
            out.clients_total = s.clients_total;
            // The same result/reason names as the connection_proxy_* series.
            out.commands = {{"ok", s.commands_ok},
                            {"error", s.commands_error},
                            {"failed", s.commands_failed},
                            {"local", s.commands_local}};
            out.refused_by_rule = s.refused_by_rule;
            out.disconnects = {{"max_clients", s.clients_rejected},
                               {"output_overflow", s.clients_overflowed},
                               {"idle_timeout", s.clients_idle_closed}};
            out.latency = s.latency;
            return out;
          }};
}

}  // namespace

Result<void> Runtime::start_proxies(const config::Config& config,
                                    boost::asio::any_io_executor executor,
                                    const RuntimeOptions& options) {
  for (const config::ProxySpec& spec : config.proxies) {
    const std::string who = "proxy '" + spec.name + "'";
    redis::Client* client = redis(spec.pool);
    redis::cluster::ClusterClient* cluster_client = client ? nullptr : cluster(spec.pool);
    if ((!client && !cluster_client) || spec.pool.empty()) {
      // The loader checked the pool exists and is Redis.
      return Error(errc::invalid_config, who + ": no Redis pool is called '" + spec.pool + "'");
    }
    proxy::ProxyOptions po;
    po.name = spec.name;
    for (const auto& text : spec.listen) {
      auto addr = proxy::parse_listen_address(text);
      if (!addr) return std::move(addr).error().with_context(who);
      po.listen.push_back(*addr);
    }
    po.max_clients = spec.max_clients;
    po.max_pinned = spec.max_pinned;
    po.idle_timeout = spec.idle_timeout;
    po.session.limits.max_request_bytes = spec.max_request_bytes;
    po.session.max_output_bytes = spec.max_output_bytes;
    po.session.rules.allow_config_set = spec.allow_config_set;
    if (!spec.password_env.empty()) {
      const char* value = std::getenv(spec.password_env.c_str());
      if (!value || !*value) {
        return Error(errc::invalid_config,
                     who + ": password_env: " + spec.password_env + " is not set");
      }
      po.session.password = value;
    }
    auto server = client ? proxy::ProxyServer::start(executor, *client, std::move(po))
                         : proxy::ProxyServer::start(executor, *cluster_client, std::move(po));
    if (!server) return std::move(server).error();
    if (options.logger) {
      for (const auto& e : (*server)->endpoints()) {
        options.logger(core::LogLevel::info,
                       who + " listening on " + e.to_string() + " -> pool '" + spec.pool + "'");
      }
    }
    proxies_.push_back({spec.name, spec.pool, std::move(*server)});
    if (auto added = pools_->add_proxy(admin_source(proxies_.back())); !added) {
      return std::move(added).error().with_context(who);
    }
  }
  if (!proxies_.empty()) {
    std::vector<proxy::ProxyMetricsSource> sources;
    for (const auto& p : proxies_) sources.push_back({p.name, p.pool, p.server});
    metrics_->add_collector(
        [sources = std::move(sources)](auto& out) { proxy::collect_proxy_metrics(sources, out); });
  }
  return ok();
}

void Runtime::stop_proxies() noexcept {
  for (auto& p : proxies_) p.server->stop();
}

}  // namespace connpool::service
