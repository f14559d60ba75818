// connpool proxy: a Redis-protocol sidecar (docs/proxy.md). Services in any language point their
// Redis URL at it; their commands travel over connpool's auto-pipelined pool to --url.
#include "connpool/core/io_loop.hpp"
#include "connpool/proxy/proxy_server.hpp"
#include "connpool/redis/client.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"

#include "commands.hpp"
#include "common/logging.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace connpool::cli {

namespace asio = boost::asio;

namespace {

struct ProxyArgs {
  std::vector<std::string> listen;
  std::string url;
  std::string password_env;
  std::vector<std::string> users_env;  // NAME=ENV_VARIABLE
  std::string log_format = "text";
  std::string idle_timeout = "0";
  std::size_t max_clients = 10000;
  std::size_t max_pinned = 0;
  std::size_t max_request_bytes = 64u << 20;
  std::size_t max_output_bytes = 32u << 20;
  bool allow_config_set = false;
  int threads = 1;
  int spin_us = 0;  // io threads poll this long before sleeping (core::run_io_loop)
};

int run_proxy(const ProxyArgs& args) {
  setup_logging(args.log_format == "json" ? LogFormat::json : LogFormat::text);
  const auto fail = [](std::string_view message) {
    std::cerr << "connpool proxy: " << message << "\n";
    return kExitConfigError;
  };
  proxy::ProxyOptions options;
  for (const auto& text : args.listen) {
    auto addr = proxy::parse_listen_address(text);
    if (!addr) return fail(addr.error().message());
    options.listen.push_back(*addr);
  }
  auto idle = core::parse_duration(args.idle_timeout);
  if (!idle) return fail("--idle-timeout: " + idle.error().message());
  options.idle_timeout = *idle;
  options.max_clients = args.max_clients;
  options.strand_per_client = args.threads > 1;
  options.max_pinned = args.max_pinned;
  options.session.limits.max_request_bytes = args.max_request_bytes;
  options.session.max_output_bytes = args.max_output_bytes;
  options.session.rules.allow_config_set = args.allow_config_set;
  // Secrets come from the environment, never from the command line (visible in ps).
  if (!args.password_env.empty()) {
    const char* value = std::getenv(args.password_env.c_str());
    if (!value || !*value) return fail("--password-env: " + args.password_env + " is not set");
    options.session.password = value;
  }
  for (const auto& spec : args.users_env) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return fail("--user-env expects NAME=ENV_VARIABLE");
    const char* value = std::getenv(spec.substr(eq + 1).c_str());
    if (!value || !*value) return fail("--user-env: " + spec.substr(eq + 1) + " is not set");
    options.session.users.push_back({spec.substr(0, eq), value});
  }

  asio::io_context ioc(args.threads);
  core::PoolOptions pool_options;
  pool_options.name = "proxy";
  pool_options.logger = pool_logger();
  // A redis-cluster:// URL gets a ClusterClient (slot routing, split multi-key commands);
  // anything else a redis::Client (redis://, rediss://, unix://, redis-sentinel://).
  std::optional<redis::Client> client;
  std::optional<redis::cluster::ClusterClient> cluster;
  Result<std::shared_ptr<proxy::ProxyServer>> server = Error(errc::unknown, "not started");
  std::string upstream;
  if (args.url.starts_with("redis-cluster://") || args.url.starts_with("rediss-cluster://")) {
    auto created =
        redis::cluster::ClusterClient::create(ioc.get_executor(), args.url, pool_options);
    if (!created) return fail(created.error().message());
    cluster = *created;
    upstream = cluster->url().redacted();
    server = proxy::ProxyServer::start(ioc.get_executor(), *cluster, std::move(options));
  } else {
    auto created = redis::Client::create(ioc.get_executor(), args.url, pool_options);
    if (!created) return fail(created.error().message());
    client = *created;
    upstream = client->url().redacted();
    server = proxy::ProxyServer::start(ioc.get_executor(), *client, std::move(options));
  }
  if (!server) {
    log(core::LogLevel::error, server.error().to_string());
    return kExitFailure;
  }
  const std::size_t max_size = (*server)->upstream().pool().config().max_size;
  for (const auto& e : (*server)->endpoints()) {
    log(core::LogLevel::info, "proxy listening on " + e.to_string() + " -> " + upstream +
                                  " (max_size=" + std::to_string(max_size) + ")");
  }
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    log(core::LogLevel::info, "stopping the proxy");
    (*server)->stop();
    if (client) client->close_now();
    if (cluster) cluster->close_now();
    ioc.stop();
  });
  std::vector<std::thread> extra;
  const core::IoLoopOptions loop{std::chrono::microseconds(args.spin_us)};
  for (int i = 1; i < args.threads; ++i) extra.emplace_back([&] { core::run_io_loop(ioc, loop); });
  core::run_io_loop(ioc, loop);
  for (auto& t : extra) t.join();
  return kExitOk;
}

}  // namespace

void add_proxy(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ProxyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "proxy", "Redis-protocol sidecar: clients in any language share connpool's pool");
  cmd->add_option("--listen", args->listen,
                  "host:port or unix:///path to accept clients on (repeatable)")
      ->required();
  cmd->add_option(
         "--url", args->url,
         "upstream redis:// / rediss:// / unix:// / redis-sentinel:// / redis-cluster:// URL")
      ->required();
  cmd->add_option("--password-env", args->password_env,
                  "environment variable holding the password clients must AUTH with");
  cmd->add_option("--user-env", args->users_env,
                  "NAME=ENV_VARIABLE: a user for AUTH NAME <password> (repeatable)");
  cmd->add_option("--max-clients", args->max_clients, "clients connected at once")
      ->capture_default_str();
  cmd->add_option("--max-pinned", args->max_pinned,
                  "clients pinned to an exclusive connection at once (0 = the pool's max_size)")
      ->capture_default_str();
  cmd->add_option("--max-request-bytes", args->max_request_bytes, "largest request accepted")
      ->capture_default_str();
  cmd->add_option("--max-output-bytes", args->max_output_bytes,
                  "replies buffered for a client that does not read before it is disconnected")
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout,
                  "disconnect clients silent this long (e.g. 300s; 0 = never)")
      ->capture_default_str();
  cmd->add_flag("--allow-config-set", args->allow_config_set,
                "let CONFIG SET / RESETSTAT / REWRITE through");
  cmd->add_option("--threads", args->threads, "I/O threads")->capture_default_str();
  cmd->add_option("--spin-us", args->spin_us,
                  "io threads keep polling this many microseconds before they sleep (0: never; "
                  "trades CPU for latency at few callers, docs/redis.md)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--log-format", args->log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([args, &exit_code] { exit_code = run_proxy(*args); });
}

}  // namespace connpool::cli
