#include "serve_process.hpp"

#include "integration/monitor/http_test_client.hpp"
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <thread>

#ifndef OPERATOR_TEST_SERVER
#error "OPERATOR_TEST_SERVER (path of operator_test_server) must be defined"
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

}  // namespace

std::vector<std::string> serve_command(const ServeOptions& options, std::uint16_t admin_port,
                                       const std::string& redis_url) {
  // For `connpool serve`: {CONNPOOL_BIN, "serve", "--set", "admin.port=" + port,
  //   "--set", "pools." + options.pool + ".backend=redis",
  //   "--set", "pools." + options.pool + ".url=" + redis_url}, with CONNPOOL_ADMIN_TOKEN in the
  // environment passed by start(). The browser test also needs the pool under load (it checks
  // that acquires grow), which `serve` alone does not generate: keep a load source (a flag of
  // serve, or a load process with its own pool is NOT enough: it must be serve's pool).
  std::vector<std::string> argv = {OPERATOR_TEST_SERVER, "--admin-port", std::to_string(admin_port),
                                   "--pool", options.pool};
  if (!options.token.empty()) {
    argv.push_back("--token");
    argv.push_back(options.token);
  }
  if (options.backend == ServeOptions::Backend::redis) {
    argv.push_back("--redis-url");
    argv.push_back(redis_url);
  } else {
    argv.push_back("--fake");
  }
  return argv;
}

std::unique_ptr<ServeProcess> ServeProcess::start(ServeOptions options, std::string* error) {
  std::unique_ptr<ServeProcess> s(new ServeProcess());
  s->options_ = std::move(options);
  s->dir_ = std::make_unique<TempDir>("connpool-operator-serve-");
  std::string redis_url;
  if (s->options_.backend == ServeOptions::Backend::redis) {
    s->redis_ = RedisServer::start({}, error);
    if (!s->redis_) return nullptr;
    redis_url = s->redis_->url();
  }
  // A port picked then released can be taken by someone else before the child binds it: retry.
  for (int attempt = 0; attempt < 3; ++attempt) {
    s->port_ = free_loopback_port();
    s->process_ = ChildProcess::start(serve_command(s->options_, s->port_, redis_url), {},
                                      s->dir_->path() + "/serve.log", error);
    if (!s->process_) return nullptr;
    const std::string auth = s->options_.token.empty() ? "" : "Bearer " + s->options_.token;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && s->process_->running()) {
      auto health = try_get(s->port_, "/healthz");
      if (health && health->status == 200) {
        // Ready when the pool is listed and has opened its min_size connections.
        auto pools = try_get(s->port_, "/api/v1/admin/connection-pools/" + s->options_.pool, auth);
        if (pools && pools->status == 200) {
          auto j = nlohmann::json::parse(pools->body, nullptr, false);
          if (!j.is_discarded() && j.value("ready", false)) return s;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const bool exited = !s->process_->running();
    const std::string log = s->process_->log();
    s->process_->stop();
    if (!exited || log.find("address already in use") == std::string::npos) {
      if (error) *error = "the serve process did not become ready; its log:\n" + log;
      return nullptr;
    }
  }
  if (error) *error = "no free port for the serve process after 3 attempts";
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
  if (redis_) {
    redis_->stop();
  } else {
    process_->signal(SIGUSR1);
  }
}

bool ServeProcess::end_outage(std::string* error) {
  if (redis_) return redis_->restart(error);
  process_->signal(SIGUSR2);
  return true;
}

std::map<std::string, std::string> ServeProcess::outage_env() const {
  if (redis_) {
    return {{"OUTAGE_KIND", "redis-shutdown"}, {"OUTAGE_PORT", std::to_string(redis_->port())}};
  }
  return {{"OUTAGE_KIND", "signal"},
          {"OUTAGE_PID", std::to_string(process_->pid())},
          {"OUTAGE_SIGNAL", "SIGUSR1"}};
}

}  // namespace connpool::test
