#include "connpool/service/runtime.hpp"

#include "connpool/config/redact.hpp"
#include "connpool/defaults/clients.hpp"
#include "connpool/defaults/firestore_client.hpp"
#include "connpool/monitor/fd_limit.hpp"
#include "connpool/service/urls.hpp"

#include <algorithm>

namespace connpool::service {

namespace asio = boost::asio;

namespace {

// `own_pool`: false for a cluster, whose pools are all per node (each observed through
// observer_factory), so no series is exported under the bare pool name.
core::PoolOptions pool_options(const config::PoolSpec& spec, std::string_view backend,
                               std::string target,
                               const std::shared_ptr<monitor::MetricsRegistry>& metrics,
                               const RuntimeOptions& options, bool own_pool = true) {
  core::PoolOptions o;
  o.name = spec.name;
  o.backend = std::string(backend);
  o.target = std::move(target);
  if (own_pool) o.observer = metrics->make_observer(spec.name, backend);
  o.observer_factory = [metrics](const core::PoolOptions& pool) {
    return metrics->make_observer(pool.name, pool.backend, pool.node);
  };
  o.logger = options.logger;
  return o;
}

Result<redis::cluster::ClusterClient> make_cluster_client(
    const config::PoolSpec& spec, const asio::any_io_executor& executor,
    const std::shared_ptr<monitor::MetricsRegistry>& metrics, const RuntimeOptions& options) {
  auto url = redis::cluster::ClusterUrl::parse(spec.redis.url);
  if (!url) return std::move(url).error();
  // Every node's pools get the configuration's policy.
  url->node.pool = spec.pool;
  url->node.pipeline_auto = spec.redis.auto_pipeline;
  auto o = pool_options(spec, "redis", url->redacted(), metrics, options, /*own_pool=*/false);
  return redis::cluster::ClusterClient::create(executor, std::move(*url), std::move(o));
}

// The admin API's and /metrics' view of a cluster: the node pools of its current slot map,
// each source owning a copy of its node's Client so the pool outlives the request.
std::vector<monitor::PoolSource> cluster_sources(const redis::cluster::ClusterClient& cluster,
                                                 const std::string& environment) {
  std::vector<monitor::PoolSource> out;
  for (const auto& node : cluster.nodes()) {
    auto client = std::make_shared<const redis::Client>(node.client);
    out.push_back(monitor::make_pool_source(client->pool(), environment));
    out.back().owner = client;
    if (&client->exclusive_pool() != &client->pool()) {
      out.push_back(monitor::make_pool_source(client->exclusive_pool(), environment));
      out.back().owner = client;
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::start(const config::Config& config,
                                                asio::any_io_executor executor,
                                                RuntimeOptions options) {
  if (options.raise_fd_limit) {
    // Before any socket exists: a pool warming up, the admin server's clients and gRPC channels
    // all draw from this limit, and EMFILE would show up as unrelated connect failures.
    auto limit = monitor::raise_fd_limit();
    if (!limit && options.logger) {
      options.logger(core::LogLevel::warning,
                     "cannot raise the open-files limit: " + limit.error().to_string());
    } else if (limit && limit->raised() && options.logger) {
      options.logger(core::LogLevel::info, limit->to_string());
    }
  }
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->environment_ = config.environment;
  rt->pools_ = std::make_shared<monitor::PoolRegistry>();
  // The metrics registry reads the pools' state gauges (sizes, waiting, utilization) from it.
  rt->metrics_ = std::make_shared<monitor::MetricsRegistry>(rt->pools_);
  const std::string environment(config::to_string(config.environment));

  for (const config::PoolSpec& spec : config.pools) {
    if (spec.backend == config::Backend::redis && is_cluster_url(spec.redis.url)) {
      auto client = make_cluster_client(spec, executor, rt->metrics_, options);
      if (!client) return std::move(client).error().with_context("pool '" + spec.name + "'");
      rt->cluster_.push_back({spec.name, std::move(*client)});
    } else if (spec.backend == config::Backend::redis) {
      auto client = defaults::make_redis_client(
          spec, executor, pool_options(spec, "redis", {}, rt->metrics_, options));
      if (!client) return std::move(client).error().with_context("pool '" + spec.name + "'");
      rt->redis_.push_back({spec.name, std::move(*client)});
    } else {
      auto client = defaults::make_firestore_client(
          spec, executor, pool_options(spec, "firestore", {}, rt->metrics_, options));
      if (!client) return std::move(client).error().with_context("pool '" + spec.name + "'");
      rt->firestore_.push_back({spec.name, std::move(*client)});
    }
  }
  // Registered after all pools exist, so the vectors no longer move their elements.
  for (auto& entry : rt->redis_) {
    if (auto r = rt->pools_->add(entry.client.pool(), environment); !r) return std::move(r).error();
    auto& exclusive = entry.client.exclusive_pool();
    if (&exclusive != &entry.client.pool()) {
      if (auto r = rt->pools_->add(exclusive, environment); !r) return std::move(r).error();
    }
  }
  for (auto& entry : rt->firestore_) {
    if (auto r = rt->pools_->add(entry.client.pool(), environment); !r) {
      return std::move(r).error();
    }
  }
  for (auto& entry : rt->cluster_) {
    // Listed afresh at every request: node pools come and go with the slot map.
    auto list = [cluster = entry.client, environment] {
      return cluster_sources(cluster, environment);
    };
    if (auto r = rt->pools_->add_group(entry.name, std::move(list)); !r) {
      return std::move(r).error().with_context("pool '" + entry.name + "'");
    }
  }

  if (auto r = rt->start_proxies(config, executor, options); !r) return std::move(r).error();

  if (options.admin) {
    monitor::AdminServerOptions ao;
    ao.bind_address = config.admin.bind;
    ao.port = options.admin_port.value_or(config.admin.port);
    ao.bearer_token = config.admin.token;
    ao.protect_all = config.admin.protect_all;
    ao.allowed_hosts = config.admin.allowed_hosts;
    ao.max_connections = config.admin.max_connections;
    ao.idle_timeout = config.admin.idle_timeout;
    auto server = monitor::AdminServer::start(executor, ao, rt->pools_, rt->metrics_);
    if (!server) return std::move(server).error().with_context("admin server");
    rt->admin_.emplace(std::move(*server));
  }
  return rt;
}

Runtime::~Runtime() {
  stop_proxies();
  stop_admin();
  // A group holds its cluster client, whose observer factory holds the metrics registry, which
  // holds the pool registry: forget the groups so the cycle does not keep them all alive.
  if (pools_) {
    for (const auto& entry : cluster_) pools_->remove_group(entry.name);
  }
}

redis::Client* Runtime::redis(std::string_view name) {
  for (auto& e : redis_) {
    if (name.empty() || e.name == name) return &e.client;
  }
  return nullptr;
}

redis::cluster::ClusterClient* Runtime::cluster(std::string_view name) {
  for (auto& e : cluster_) {
    if (name.empty() || e.name == name) return &e.client;
  }
  return nullptr;
}

firestore::Client* Runtime::firestore(std::string_view name) {
  for (auto& e : firestore_) {
    if (name.empty() || e.name == name) return &e.client;
  }
  return nullptr;
}

std::string Runtime::admin_url() const {
  if (!admin_) return {};
  return "http://" + admin_->address();
}

asio::awaitable<void> Runtime::drain(std::chrono::milliseconds deadline) {
  // Proxies stop taking clients first (their pinned leases go back as the clients close), then
  // every pool stops handing out, then each is waited for within what is left of the deadline.
  stop_proxies();
  std::vector<std::function<asio::awaitable<void>(std::chrono::nanoseconds)>> closers;
  for (auto& e : redis_) {
    e.client.pool().close_now();
    e.client.exclusive_pool().close_now();
    closers.emplace_back([&e](std::chrono::nanoseconds d) { return e.client.pool().close(d); });
    closers.emplace_back(
        [&e](std::chrono::nanoseconds d) { return e.client.exclusive_pool().close(d); });
  }
  for (auto& e : cluster_) {
    // nodes() before close_now(), which forgets the slot map; the copies keep each node's
    // pools alive until they are drained.
    for (const auto& node : e.client.nodes()) {
      redis::Client client = node.client;
      closers.emplace_back([client](std::chrono::nanoseconds d) { return client.pool().close(d); });
      closers.emplace_back(
          [client](std::chrono::nanoseconds d) { return client.exclusive_pool().close(d); });
    }
    e.client.close_now();  // stops the refresh and every node pool's hand-outs
  }
  for (auto& e : firestore_) {
    e.client.pool().close_now();
    closers.emplace_back([&e](std::chrono::nanoseconds d) { return e.client.pool().close(d); });
  }
  const auto end = std::chrono::steady_clock::now() + deadline;
  for (auto& close : closers) {
    const auto left = std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds(0),
                                                         end - std::chrono::steady_clock::now());
    co_await close(left);
  }
}

void Runtime::stop_admin() noexcept {
  if (admin_) admin_->stop();
}

}  // namespace connpool::service
