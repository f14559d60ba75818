// What the `connpool firestore` subcommands share: the connection options every subcommand takes,
// error reporting with the CLI's exit codes, a pooled client on a private io thread, and the
// `--where` parser. Each subcommand lives in its own cmd_firestore*.cpp.
#pragma once

#include "connpool/firestore/firestore.hpp"

#include "commands.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>

namespace connpool::cli::fscli {

namespace fs = connpool::firestore;

struct Common {
  std::string project;
  std::string database = "(default)";
  std::string emulator_host;
  int timeout_ms = 30000;
  bool compact = false;
};

void add_common(CLI::App* cmd, Common& c);

/// Prints the error and returns its exit code: 2 for bad input or configuration, else 1.
int fail_with(const Error& e);

/// Pretty (or --compact) JSON on stdout.
void print(const nlohmann::json& j, const Common& c);

/// The FirestoreOptions the common options select (environment defaults applied).
fs::FirestoreOptions client_options(const Common& c);

/// Runs `body(client, io)` with a pooled client (one channel, opened on first use) whose
/// executor `io` runs on a private thread; body runs on the calling thread. The pool is closed
/// afterwards.
int with_async_client(const Common& c,
                      const std::function<int(fs::Client&, boost::asio::io_context&)>& body);

/// As with_async_client() for the blocking calls.
int with_client(const Common& c, const std::function<int(fs::BlockingClient)>& body);

/// "FIELD OP VALUE": VALUE is JSON (tagged or plain), e.g. `age >= 30`, `city in ["a","b"]`.
Result<fs::Filter> parse_where(const std::string& text);

// The subcommands in their own files.
void add_watch(CLI::App& fsapp, int& exit_code);   // cmd_firestore_watch.cpp
void add_import(CLI::App& fsapp, int& exit_code);  // cmd_firestore_import.cpp
void add_export(CLI::App& fsapp, int& exit_code);  // cmd_firestore_export.cpp

}  // namespace connpool::cli::fscli
