#include "support_runtime.hpp"

#include "connpool/config/redact.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace connpool::cli {

namespace asio = boost::asio;

namespace {

core::PoolOptions pool_options(const config::PoolSpec& spec, std::string_view backend,
                               std::string target,
                               const std::shared_ptr<monitor::MetricsRegistry>& metrics,
                               const RuntimeOptions& options) {
  core::PoolOptions o;
  o.name = spec.name;
  o.backend = std::string(backend);
  o.target = std::move(target);
  o.observer = metrics->make_observer(spec.name, backend);
  o.observer_factory = [metrics](const core::PoolOptions& pool) {
    return metrics->make_observer(pool.name, pool.backend, pool.node);
  };
  o.logger = options.logger;
  return o;
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::start(const config::Config& config,
                                                asio::any_io_executor executor,
                                                RuntimeOptions options) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->environment_ = config.environment;
  rt->pools_ = std::make_shared<monitor::PoolRegistry>();
  // The metrics registry reads the pools' state gauges (sizes, waiting, utilization) from it.
  rt->metrics_ = std::make_shared<monitor::MetricsRegistry>(rt->pools_);
  const std::string environment(config::to_string(config.environment));

  for (const config::PoolSpec& spec : config.pools) {
    if (spec.backend == config::Backend::redis) {
      auto url = redis::RedisUrl::parse(spec.redis.url);
      if (!url) return std::move(url).error().with_context("pool '" + spec.name + "'");
      // The configuration's pool policy (defaults < profile < file < env < flags) is the one
      // that counts; the URL contributes the endpoint, credentials and TLS.
      url->pool = spec.pool;
      url->pipeline_auto = spec.redis.auto_pipeline;
      auto client = redis::Client::create(
          executor, *url, pool_options(spec, "redis", url->redacted(), rt->metrics_, options));
      if (!client) return std::move(client).error().with_context("pool '" + spec.name + "'");
      rt->redis_.push_back({spec.name, std::move(*client)});
    } else {
      firestore::FirestoreOptions fo;
      fo.project_id = spec.firestore.project_id;
      fo.database_id = spec.firestore.database;
      fo.emulator_host = spec.firestore.emulator_host;
      std::string target = fo.emulator_host.empty() ? fo.endpoint : fo.emulator_host;
      target += " projects/" + fo.project_id + "/databases/" + fo.database_id;
      auto client = firestore::Client::create(
          executor, fo, spec.pool,
          pool_options(spec, "firestore", std::move(target), rt->metrics_, options));
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

  if (options.admin) {
    monitor::AdminServerOptions ao;
    ao.bind_address = config.admin.bind;
    ao.port = options.admin_port.value_or(config.admin.port);
    ao.bearer_token = config.admin.token;
    auto server = monitor::AdminServer::start(executor, ao, rt->pools_, rt->metrics_);
    if (!server) return std::move(server).error().with_context("admin server");
    rt->admin_.emplace(std::move(*server));
  }
  return rt;
}

Runtime::~Runtime() {
  stop_admin();
}

redis::Client* Runtime::redis(std::string_view name) {
  for (auto& e : redis_) {
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
  // Stop every pool handing out first, then wait for each within what is left of the deadline.
  std::vector<std::function<asio::awaitable<void>(std::chrono::nanoseconds)>> closers;
  for (auto& e : redis_) {
    e.client.pool().close_now();
    e.client.exclusive_pool().close_now();
    closers.emplace_back([&e](std::chrono::nanoseconds d) { return e.client.pool().close(d); });
    closers.emplace_back(
        [&e](std::chrono::nanoseconds d) { return e.client.exclusive_pool().close(d); });
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

}  // namespace connpool::cli
