// Embedding connpool's service layer: the pools, /metrics and the admin API that
// `connpool serve` runs, built from a YAML file inside your own program, on your own io_context,
// with your own signal handling.
//
//   example_embedded_service connpool.yaml
//
// A small "request loop" stands in for your service's work: every 20 ms it counts a request in
// Redis (INCR on the first Redis pool of the file). SIGINT/SIGTERM drain the pools gracefully
// (leases in flight come back first) and the program exits 0. REDIS_URL, CONNPOOL_* variables
// and secrets work as for `connpool serve` (see docs/configuration.md).
#include "connpool/config/load.hpp"
#include "connpool/service/runtime.hpp"
#include "connpool/service/version.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The service's own work: one request every 20 ms until `stopping`.
asio::awaitable<void> request_loop(connpool::redis::Client redis, const std::atomic<bool>& stopping,
                                   std::atomic<long>& served) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (!stopping) {
    auto count = co_await redis.incr("embedded_service:requests");
    if (count) {
      if (++served % 50 == 1) std::printf("request %ld (counter %lld)\n", served.load(), *count);
    } else {
      std::fprintf(stderr, "request failed: %s\n", count.error().to_string().c_str());
    }
    std::fflush(stdout);
    tick.expires_after(20ms);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CONFIG.yaml\n", argv[0]);
    return 2;
  }
  connpool::config::Flags flags;
  flags.config_file = argv[1];
  auto config = connpool::config::load(connpool::config::process_environment(), flags);
  if (!config) {
    std::fprintf(stderr, "configuration: %s\n", config.error().message().c_str());
    return 2;
  }

  asio::io_context io(2);
  connpool::service::RuntimeOptions options;
  options.logger = [](connpool::core::LogLevel, std::string_view message) {
    std::fprintf(stderr, "connpool: %.*s\n", static_cast<int>(message.size()), message.data());
  };
  auto runtime = connpool::service::Runtime::start(*config, io.get_executor(), options);
  if (!runtime) {
    std::fprintf(stderr, "%s\n", runtime.error().to_string().c_str());
    return 1;
  }
  connpool::service::Runtime& rt = **runtime;
  connpool::redis::Client* redis = rt.redis();
  if (redis == nullptr) {
    std::fprintf(stderr, "the configuration has no Redis pool (redis://, rediss://, unix://)\n");
    return 2;
  }
  std::printf("connpool %s embedded: %zu pools, admin endpoint %s\n",
              std::string(connpool::version()).c_str(), config->pools.size(),
              rt.admin_url().c_str());
  std::fflush(stdout);

  std::atomic<bool> stopping{false};
  std::atomic<long> served{0};
  asio::co_spawn(io, request_loop(*redis, stopping, served), asio::detached);

  // Shutdown is ours to decide: here SIGINT/SIGTERM stop the loop, then drain every pool
  // within 5 s, stop the admin server, and let io.run() return.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    stopping = true;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await rt.drain(5s);
          rt.stop_admin();
          io.stop();
        },
        asio::detached);
  });

  std::thread second([&io] { io.run(); });
  io.run();
  second.join();
  std::printf("drained after %ld requests\n", served.load());
  return 0;
}
