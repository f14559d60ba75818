// Each subcommand of the connpool CLI lives in its folder, <folder>/cmd_<name>.cpp, and adds itself
// to the CLI11 app through one of these functions. main.cpp wires them up.
#pragma once

#include <CLI/CLI.hpp>

namespace connpool::cli {

/// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      ///< the command ran and something was unhealthy
inline constexpr int kExitConfigError = 2;  ///< bad configuration or command line

// `app` is the root; `bench` is the `connpool bench` group. Each function registers its
// subcommand with a callback that stores its exit code in `exit_code`.
void add_bench_redis(CLI::App& bench, int& exit_code);      // bench/cmd_bench_redis.cpp
void add_bench_firestore(CLI::App& bench, int& exit_code);  // bench/cmd_bench_firestore.cpp
void add_bench_sizing(CLI::App& bench, int& exit_code);     // bench/cmd_bench_sizing.cpp
void add_firestore(CLI::App& app, int& exit_code);          // firestore/cmd_firestore.cpp
void add_demo(CLI::App& app, int& exit_code);               // demo/cmd_demo.cpp
void add_serve(CLI::App& app, int& exit_code);              // serve/cmd_serve.cpp
void add_check(CLI::App& app, int& exit_code);              // check/cmd_check.cpp
void add_config(CLI::App& app, int& exit_code);             // config/cmd_config.cpp
void add_proxy(CLI::App& app, int& exit_code);              // proxy/cmd_proxy.cpp

}  // namespace connpool::cli
