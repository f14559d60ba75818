#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224, see CMakeLists

#include "firestore_common.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

namespace connpool::cli::fscli {
namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

}  // namespace

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--project", c.project,
                  "Google Cloud project id (default: $GOOGLE_CLOUD_PROJECT)");
  cmd->add_option("--database", c.database, "database id")->capture_default_str();
  cmd->add_option("--emulator-host", c.emulator_host,
                  "host:port of the emulator (default: $FIRESTORE_EMULATOR_HOST)");
  cmd->add_option("--timeout-ms", c.timeout_ms, "deadline of each call")->capture_default_str();
  cmd->add_flag("--compact", c.compact, "print JSON on one line");
}

int fail_with(const Error& e) {
  std::fprintf(stderr, "connpool firestore: %s\n", e.to_string().c_str());
  const bool input = e.is(errc::invalid_argument) || e.is(errc::invalid_config);
  return input ? kExitConfigError : kExitFailure;
}

void print(const nlohmann::json& j, const Common& c) {
  std::cout << fs::dump(j, c.compact ? -1 : 2) << '\n';
}

fs::FirestoreOptions client_options(const Common& c) {
  fs::FirestoreOptions o;
  o.project_id =
      c.project.empty() ? env_or("GOOGLE_CLOUD_PROJECT", env_or("GCLOUD_PROJECT", "")) : c.project;
  o.database_id = c.database;
  o.emulator_host =
      c.emulator_host.empty() ? env_or("FIRESTORE_EMULATOR_HOST", "") : c.emulator_host;
  o.call_timeout = std::chrono::milliseconds(c.timeout_ms);
  return o;
}

int with_async_client(const Common& c,
                      const std::function<int(fs::Client&, boost::asio::io_context&)>& body) {
  auto cfg = fs::default_pool_config();
  cfg.min_size = 0;  // one command, one channel, opened on first use
  cfg.max_size = 1;
  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  int rc = kExitOk;
  {
    auto client = fs::Client::create(io.get_executor(), client_options(c), cfg);
    if (!client) {
      rc = fail_with(client.error());
    } else {
      rc = body(*client, io);
      client->pool().close_blocking(std::chrono::seconds(2));
    }
  }
  work.reset();
  io.stop();
  runner.join();
  return rc;
}

int with_client(const Common& c, const std::function<int(fs::BlockingClient)>& body) {
  return with_async_client(
      c, [&](fs::Client& client, boost::asio::io_context&) { return body(client.blocking()); });
}

Result<fs::Filter> parse_where(const std::string& text) {
  std::istringstream in(text);
  std::string field;
  std::string op;
  in >> field >> op;
  std::string rest;
  std::getline(in, rest);
  if (field.empty() || op.empty() || rest.find_first_not_of(" \t") == std::string::npos) {
    return fail(errc::invalid_argument,
                "--where \"" + text + "\": expected FIELD OP VALUE, e.g. 'age >= 30'");
  }
  auto j = fs::parse_json(rest);
  if (!j) {
    // A bare word is a string: `city == Paris`.
    const auto first = rest.find_first_not_of(" \t");
    const auto last = rest.find_last_not_of(" \t");
    j = nlohmann::json(rest.substr(first, last - first + 1));
  }
  auto v = fs::value_from_json(*j, fs::JsonMode::lenient);
  if (!v) return std::move(v).error().with_context("--where \"" + text + "\"");
  auto parsed_op = fs::parse_op(op);
  if (!parsed_op) return std::move(parsed_op).error().with_context("--where \"" + text + "\"");
  return fs::Filter::where(field, *parsed_op, std::move(*v));
}

}  // namespace connpool::cli::fscli
