// connpool serve: the configured pools and the admin endpoint until SIGINT/SIGTERM, then a
// graceful drain within a deadline. `--load N` adds the built-in load generator
// (service::LoadGenerator).
#include "connpool/config/load.hpp"
#include "connpool/core/io_loop.hpp"
#include "connpool/service/load_generator.hpp"
#include "connpool/service/notify.hpp"
#include "connpool/service/runtime.hpp"

#include "commands.hpp"
#include "common/env_settings.hpp"
#include "common/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

namespace connpool::cli {

namespace asio = boost::asio;

using service::LoadGenerator;
using service::LoadOptions;
using service::Runtime;
using service::RuntimeOptions;

namespace {

struct ServeArgs {
  config::Flags flags;
  std::vector<std::string> set_env;  // --set-env KEY=VARIABLE
  std::string log_format = "text";
  std::string drain_timeout = "10s";
  int threads = 2;
  int spin_us = 0;  // io threads poll this long before sleeping (core::run_io_loop)
  LoadOptions load;
};

int run_serve(const ServeArgs& args) {
  setup_logging(args.log_format == "json" ? LogFormat::json : LogFormat::text);
  auto drain = core::parse_duration(args.drain_timeout);
  if (!drain) {
    std::cerr << "connpool serve: --drain-timeout: " << drain.error().message() << "\n";
    return kExitConfigError;
  }
  auto from_env = resolve_set_env(args.set_env);
  if (!from_env) {
    std::cerr << "connpool serve: " << from_env.error().message() << "\n";
    return kExitConfigError;
  }
  config::Flags flags = args.flags;
  flags.set.insert(flags.set.end(), from_env->begin(), from_env->end());
  auto config = config::load(config::process_environment(), flags);
  if (!config) {
    std::cerr << "connpool serve: " << config.error().message() << "\n";
    return kExitConfigError;
  }
  if (config->pools.empty()) {
    std::cerr << "connpool serve: no pools configured: set REDIS_URL, FIRESTORE_EMULATOR_HOST or "
                 "GOOGLE_CLOUD_PROJECT, or pass --config FILE\n";
    return kExitConfigError;
  }

  asio::io_context ioc(args.threads);
  RuntimeOptions options;
  options.logger = pool_logger();
  auto runtime = Runtime::start(*config, ioc.get_executor(), options);
  if (!runtime) {
    log(core::LogLevel::error, runtime.error().to_string());
    return kExitFailure;
  }
  Runtime& rt = **runtime;
  log(core::LogLevel::info, "admin endpoint: " + rt.admin_url() + " (environment " +
                                std::string(config::to_string(config->environment)) + ", " +
                                std::to_string(config->pools.size()) + " pools)");
  for (const auto& pool : config->pools) {
    log(core::LogLevel::info, "pool '" + pool.name + "' (" +
                                  std::string(config::to_string(pool.backend)) +
                                  ") max_size=" + std::to_string(pool.pool.max_size));
  }

  std::shared_ptr<LoadGenerator> load;
  if (args.load.concurrency > 0) {
    LoadOptions load_options = args.load;
    load_options.logger = pool_logger();
    load = LoadGenerator::start(rt, ioc.get_executor(), std::move(load_options));
  }

  // Under systemd (deploy/connpool.service, Type=notify): ready once the pools exist and the
  // admin endpoint listens. Pools warm up in the background; /readyz tells when they are.
  service::sd_notify("READY=1\nSTATUS=serving " + std::to_string(config->pools.size()) +
                     " pools, admin " + rt.admin_url());

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    log(core::LogLevel::info, std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
                                  ": draining pools (deadline " + args.drain_timeout + ")");
    service::sd_notify("STOPPING=1");
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          // The load stops first; draining fails any of its acquires still waiting.
          if (load) load->request_stop();
          co_await rt.drain(*drain);
          if (load) {
            const std::chrono::milliseconds grace(2000);
            co_await load->wait_stopped(grace);
            log(core::LogLevel::info, load->summary());
          }
          rt.stop_admin();
          log(core::LogLevel::info, "drained; bye");
          ioc.stop();
        },
        asio::detached);
  });

  std::vector<std::thread> threads;
  const core::IoLoopOptions loop{std::chrono::microseconds(args.spin_us)};
  for (int i = 1; i < args.threads; ++i)
    threads.emplace_back([&] { core::run_io_loop(ioc, loop); });
  core::run_io_loop(ioc, loop);
  for (auto& t : threads) t.join();
  return kExitOk;
}

}  // namespace

void add_serve(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd =
      app.add_subcommand("serve",
                         "Run the configured pools and the admin endpoint (/metrics, "
                         "/api/v1/admin/connection-pools, /healthz, /readyz) until SIGINT/SIGTERM");
  cmd->add_option("--config", args->flags.config_file,
                  "YAML configuration file (default: $CONNPOOL_CONFIG)");
  cmd->add_option("--env", args->flags.environment,
                  "Environment profile: development, staging or production");
  cmd->add_option("--set", args->flags.set, "Override a key: --set pools.cache.max_size=30");
  add_set_env_option(*cmd, args->set_env);
  cmd->add_option("--log-format", args->log_format, "Log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--drain-timeout", args->drain_timeout,
                  "How long to wait for leases to come back on shutdown (e.g. 10s)");
  cmd->add_option("--threads", args->threads, "Threads running the pools")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--spin-us", args->spin_us,
                  "io threads keep polling this many microseconds before they sleep (0: never; "
                  "trades CPU for latency at few callers, docs/redis.md)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--load", args->load.concurrency,
                  "Built-in load generator: N workers per pool (Redis: GET/SET mix on keys "
                  "connpool:load:*, 60s TTL; Firestore: document gets) until shutdown; 0: off")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--load-rate", args->load.rate,
                  "Operations per second per pool for --load (0: as fast as the pool serves)")
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--load-keys", args->load.keys, "Distinct keys / document ids for --load")
      ->check(CLI::Range(1, 100'000'000));
  cmd->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

}  // namespace connpool::cli
