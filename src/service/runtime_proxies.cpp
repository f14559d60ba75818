// The configuration's proxies (`proxies:` in the YAML file), started next to the pools they
// forward to (docs/proxy.md#under-connpool-serve).
#include "connpool/proxy/proxy_metrics.hpp"
#include "connpool/proxy/proxy_server.hpp"
#include "connpool/service/runtime.hpp"

#include <cstdlib>

namespace connpool::service {

Result<void> Runtime::start_proxies(const config::Config& config,
                                    boost::asio::any_io_executor executor,
                                    const RuntimeOptions& options) {
  for (const config::ProxySpec& spec : config.proxies) {
    const std::string who = "proxy '" + spec.name + "'";
    redis::Client* client = redis(spec.pool);
    if (!client || spec.pool.empty()) {
      // The loader checked the pool exists and is Redis; only a cluster pool gets here.
      return Error(errc::invalid_config,
                   who + ": pool '" + spec.pool +
                       "' is a Redis Cluster pool; the proxy forwards to redis://, rediss://, "
                       "unix:// and redis-sentinel:// pools");
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
    auto server = proxy::ProxyServer::start(executor, *client, std::move(po));
    if (!server) return std::move(server).error();
    if (options.logger) {
      for (const auto& e : (*server)->endpoints()) {
        options.logger(core::LogLevel::info,
                       who + " listening on " + e.to_string() + " -> pool '" + spec.pool + "'");
      }
    }
    proxies_.push_back({spec.name, spec.pool, std::move(*server)});
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
