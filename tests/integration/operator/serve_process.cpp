#include "serve_process.hpp"

#include "integration/monitor/http_test_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <fstream>
#include <thread>

#ifndef CONNPOOL_BIN
#error "CONNPOOL_BIN (path of the connpool binary) must be defined"
#endif

namespace connpool::test {
namespace {

// GET on loopback that reports failure instead of throwing (the server may not listen yet).
std::optional<HttpResult> try_get(std::uint16_t port, const std::string& target,
                                  const std::string& auth = {}) {
  try {
    return http_get(port, target, auth);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// What the configuration loader reads from the environment: the test's own environment must not
// add pools or change this one (a developer's REDIS_URL, say).
const std::vector<std::string> kConfigVariables = {"CONNPOOL_ENV",
                                                   "CONNPOOL_CONFIG",
                                                   "REDIS_URL",
                                                   "FIRESTORE_EMULATOR_HOST",
                                                   "GOOGLE_CLOUD_PROJECT",
                                                   "CONNPOOL_ADMIN_PORT",
                                                   "CONNPOOL_ADMIN_TOKEN",
                                                   "CONNPOOL_POOLS__*"};

// The pool is listed and has opened its min_size connections; so has every node pool of the
// cluster pool, when there is one (they appear once the load's first command loaded the slot map).
bool ready(const std::string& body, const ServeOptions& options) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("pools") || !j["pools"].is_array()) return false;
  bool pool_ready = false;
  std::size_t nodes_ready = 0;
  for (const auto& p : j["pools"]) {
    const std::string name = p.value("name", "");
    const bool ok = p.value("ready", false);
    if (name == options.pool) pool_ready = ok;
    if (p.contains("node") && p["node"].is_string() &&
        name == options.cluster_pool + "@" + p["node"].get<std::string>() && ok) {
      ++nodes_ready;
    }
  }
  return pool_ready && nodes_ready >= options.cluster_nodes;
}

}  // namespace

std::string serve_config(const ServeOptions& options, std::uint16_t admin_port,
                         const std::string& redis_url) {
  // Short health-check, backoff and breaker intervals: an outage shows within seconds. Without
  // auto-pipelining every command takes a lease of its own, so the load is visible in the pool's
  // counters and bars, and the pool is the only one (no lazily opened "-exclusive" companion).
  // A cluster pool gets the same policy for each of its node pools.
  const auto pool = [](const std::string& name, const std::string& url) {
    std::string block = R"(  POOL:
    backend: redis
    url: 'URL'
    auto_pipeline: false
    min_size: 2
    max_size: 8
    acquire_timeout: 1s
    connect_timeout: 500ms
    validation_timeout: 500ms
    health_check_interval: 1s
    reconnect_backoff_max: 1s
    circuit_breaker:
      enabled: true
      open_duration: 3s
)";
    for (const auto& [placeholder, value] :
         {std::pair<std::string, std::string>{"POOL", name}, {"URL", url}}) {
      block.replace(block.find(placeholder), placeholder.size(), value);
    }
    return block;
  };
  std::string yaml = "pools:\n" + pool(options.pool, redis_url);
  if (!options.cluster_url.empty()) yaml += pool(options.cluster_pool, options.cluster_url);
  if (options.proxy_port != 0) {
    yaml += "proxies:\n  " + options.proxy + ":\n    pool: " + options.pool +
            "\n    listen: 127.0.0.1:" + std::to_string(options.proxy_port) + "\n";
  }
  yaml += "admin:\n  bind: 127.0.0.1\n  port: " + std::to_string(admin_port) + "\n";
  return yaml;
}

std::vector<std::string> serve_command(const ServeOptions& options,
                                       const std::string& config_path) {
  return {CONNPOOL_BIN,      "serve",
          "--config",        config_path,
          "--drain-timeout", "2s",
          "--load",          std::to_string(options.load),
          "--load-rate",     std::to_string(options.load_rate),
          "--load-keys",     "100"};
}

std::unique_ptr<ServeProcess> ServeProcess::start(ServeOptions options, std::string* error) {
  std::unique_ptr<ServeProcess> s(new ServeProcess());
  s->options_ = std::move(options);
  s->dir_ = std::make_unique<TempDir>("connpool-operator-serve-");
  s->redis_ = RedisServer::start({}, error);
  if (!s->redis_) return nullptr;
  std::map<std::string, std::string> env;
  if (!s->options_.token.empty()) env["CONNPOOL_ADMIN_TOKEN"] = s->options_.token;
  const std::string config_path = s->dir_->path() + "/connpool.yaml";
  // A port picked then released can be taken by someone else before the child binds it: retry.
  for (int attempt = 0; attempt < 3; ++attempt) {
    s->port_ = free_loopback_port();
    std::ofstream(config_path) << serve_config(s->options_, s->port_, s->redis_->url());
    s->process_ = ChildProcess::start(serve_command(s->options_, config_path), env,
                                      s->dir_->path() + "/serve.log", error, kConfigVariables);
    if (!s->process_) return nullptr;
    const std::string auth = s->options_.token.empty() ? "" : "Bearer " + s->options_.token;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && s->process_->running()) {
      auto health = try_get(s->port_, "/healthz");
      if (health && health->status == 200) {
        // Ready when the pool is listed and has opened its min_size connections.
        auto pools = try_get(s->port_, "/api/v1/admin/connection-pools", auth);
        if (pools && pools->status == 200 && ready(pools->body, s->options_)) return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const bool exited = !s->process_->running();
    const std::string log = s->process_->log();
    s->process_->stop();
    if (!exited || log.find("in use") == std::string::npos) {
      if (error) *error = "connpool serve did not become ready; its log:\n" + log;
      return nullptr;
    }
  }
  if (error) *error = "no free port for connpool serve after 3 attempts";
  return nullptr;
}

ServeProcess::~ServeProcess() {
  if (process_) process_->stop();
  redis_.reset();
}

std::string ServeProcess::admin_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void ServeProcess::begin_outage() {
  redis_->stop();
}

bool ServeProcess::end_outage(std::string* error) {
  return redis_->restart(error);
}

std::map<std::string, std::string> ServeProcess::outage_env() const {
  return {{"OUTAGE_KIND", "redis-shutdown"}, {"OUTAGE_PORT", std::to_string(redis_->port())}};
}

}  // namespace connpool::test
