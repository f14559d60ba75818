// connpool: the command-line tool. Each subcommand lives in its folder (<name>/cmd_<name>.cpp).
#include "commands.hpp"
#if CONNPOOL_HAVE_SERVICE
#include "connpool/service/version.hpp"
#endif

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"connpool: production-grade connection pools for Redis and Firestore"};
  app.require_subcommand(1);
#if CONNPOOL_HAVE_SERVICE
  // The libraries' version: the same CMake project version, read from what was linked.
  app.set_version_flag("--version", std::string(connpool::version()));
#else
  app.set_version_flag("--version", std::string(CONNPOOL_VERSION));
#endif
  int exit_code = connpool::cli::kExitOk;

  [[maybe_unused]] CLI::App* bench =
      app.add_subcommand("bench", "Measure throughput and latency against a real server");
  bench->require_subcommand(1);
#if CONNPOOL_CMD_bench_redis
  connpool::cli::add_bench_redis(*bench, exit_code);
#endif
#if CONNPOOL_CMD_bench_firestore
  connpool::cli::add_bench_firestore(*bench, exit_code);
#endif
#if CONNPOOL_CMD_bench_sizing
  connpool::cli::add_bench_sizing(*bench, exit_code);
#endif
#if CONNPOOL_CMD_firestore
  connpool::cli::add_firestore(app, exit_code);
#endif
#if CONNPOOL_CMD_demo
  connpool::cli::add_demo(app, exit_code);
#endif
#if CONNPOOL_CMD_serve
  connpool::cli::add_serve(app, exit_code);
#endif
#if CONNPOOL_CMD_check
  connpool::cli::add_check(app, exit_code);
#endif
#if CONNPOOL_CMD_proxy
  connpool::cli::add_proxy(app, exit_code);
#endif
#if CONNPOOL_CMD_config
  connpool::cli::add_config(app, exit_code);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : connpool::cli::kExitConfigError;
  }
  return exit_code;
}
