// operator_test_server: a stand-in for `connpool serve` in the operator tests (issue 9). It runs
// one pool under a steady load and an AdminServer in front of it, until SIGTERM or SIGINT.
//
//   operator_test_server --admin-port PORT [--token TOKEN] [--pool NAME]
//                        [--redis-url URL | --fake] [--workers N]
//
// --redis-url: a real Redis pool (core::Pool<redis::RedisConnector>); workers send PING.
// --fake:      a pool over tests/support's MonitorFakeConnector; SIGUSR1 makes every connect and
//              validation fail from then on (an outage), SIGUSR2 ends it.
// Prints "operator_test_server: admin http://127.0.0.1:PORT" once the admin server listens.
#include "connpool/core/pool.hpp"
#include "connpool/monitor/admin_server.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"
#include "connpool/redis/connector.hpp"
#include "connpool/redis/url.hpp"

#include "support/monitor_fake_connector.hpp"

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
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using connpool::Error;
using connpool::Result;

struct Args {
  std::uint16_t admin_port = 0;
  std::string token;
  std::string pool = "cache";
  std::string redis_url;
  bool fake = false;
  int workers = 3;
};

Result<Args> parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= argc)
        return Error(connpool::errc::invalid_argument, std::string(arg) + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--fake") {
      a.fake = true;
      continue;
    }
    auto v = value();
    if (!v) return std::move(v).error();
    if (arg == "--admin-port") {
      a.admin_port = static_cast<std::uint16_t>(std::stoi(*v));
    } else if (arg == "--token") {
      a.token = *v;
    } else if (arg == "--pool") {
      a.pool = *v;
    } else if (arg == "--redis-url") {
      a.redis_url = *v;
    } else if (arg == "--workers") {
      a.workers = std::stoi(*v);
    } else {
      return Error(connpool::errc::invalid_argument, "unknown option " + std::string(arg));
    }
  }
  if (a.fake == !a.redis_url.empty()) {
    return Error(connpool::errc::invalid_argument, "pass exactly one of --fake and --redis-url");
  }
  return a;
}

connpool::core::PoolConfig pool_config() {
  connpool::core::PoolConfig c;
  c.min_size = 2;
  c.max_size = 8;
  c.acquire_timeout = 1000ms;
  c.connect_timeout = 500ms;
  c.validation_timeout = 500ms;
  // Frequent checks so an outage shows within a few seconds.
  c.health_check_interval = 1000ms;
  c.validate_after_idle = 200ms;
  c.reconnect_backoff_initial = 100ms;
  c.reconnect_backoff_max = 1000ms;
  c.circuit_breaker.enabled = true;
  c.circuit_breaker.open_duration = 3000ms;
  return c;
}

// One user of the pool: acquire, do something for a while, release, pause; forever. `work`
// runs on the lease (PING for Redis, nothing for the fake).
template <class PoolT, class Work>
asio::awaitable<void> worker(PoolT& pool, Work work, unsigned seed, const std::atomic<bool>& stop) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> hold_ms(5, 60);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stop) {
    {
      auto lease = co_await pool.acquire();
      if (!lease) {
        timer.expires_after(100ms);  // the backend is down: do not spin
        co_await timer.async_wait(asio::use_awaitable);
        continue;
      }
      if (!co_await work(**lease)) lease->discard();
      timer.expires_after(std::chrono::milliseconds(hold_ms(rng)));
      co_await timer.async_wait(asio::use_awaitable);
    }  // the lease goes back here
    timer.expires_after(std::chrono::milliseconds(hold_ms(rng) / 2));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

template <class PoolT, class Work>
int serve(const Args& args, asio::io_context& io, PoolT pool, Work work,
          const std::shared_ptr<connpool::monitor::PoolRegistry>& pools,
          const std::shared_ptr<connpool::monitor::MetricsRegistry>& metrics,
          const std::shared_ptr<connpool::test::MonitorFakeScript>& script) {
  if (auto added = pools->add(pool); !added) {
    std::cerr << "operator_test_server: " << added.error().to_string() << "\n";
    return 2;
  }
  connpool::monitor::AdminServerOptions options;
  options.port = args.admin_port;
  options.bearer_token = args.token;
  auto server = connpool::monitor::AdminServer::start(io.get_executor(), options, pools, metrics);
  if (!server) {
    std::cerr << "operator_test_server: " << server.error().to_string() << "\n";
    return 2;
  }

  std::atomic<bool> stop{false};
  for (int i = 0; i < args.workers; ++i) {
    asio::co_spawn(io, worker(pool, work, static_cast<unsigned>(1000 + i), stop), asio::detached);
  }

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGUSR1);
  signals.add(SIGUSR2);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGUSR1 || sig == SIGUSR2) {
          if (script) {
            script->fail_connect = sig == SIGUSR1;
            script->fail_validate = sig == SIGUSR1;
            std::cout << "operator_test_server: outage " << (sig == SIGUSR1 ? "on" : "off")
                      << std::endl;
          }
          signals.async_wait(on_signal);
          return;
        }
        stop = true;
        server->stop();
        pool.close_now();
        pools->remove(args.pool);
        io.stop();
      };
  signals.async_wait(on_signal);

  std::cout << "operator_test_server: admin http://" << server->address() << std::endl;
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  for (auto& t : threads) t.join();
  return 0;
}

int run(const Args& args) {
  asio::io_context io;
  auto pools = std::make_shared<connpool::monitor::PoolRegistry>();
  auto metrics = std::make_shared<connpool::monitor::MetricsRegistry>(pools);

  connpool::core::PoolOptions options;
  options.name = args.pool;

  if (args.fake) {
    auto script = std::make_shared<connpool::test::MonitorFakeScript>();
    options.backend = "fake";
    options.target = "fake://operator-test";
    options.observer = metrics->make_observer(options.name, options.backend);
    auto pool = connpool::core::Pool<connpool::test::MonitorFakeConnector>::create(
        io.get_executor(), connpool::test::MonitorFakeConnector(script), pool_config(), options);
    if (!pool) {
      std::cerr << "operator_test_server: " << pool.error().to_string() << "\n";
      return 2;
    }
    // During an outage the "command" on a leased connection fails too, so the worker discards
    // the connection and the pool has to reconnect (and fails to), as with a real server.
    auto work = [script](connpool::test::MonitorFakeConnection&) -> asio::awaitable<bool> {
      co_return !script->fail_connect;
    };
    return serve(args, io, std::move(pool).value(), work, pools, metrics, script);
  }

  auto url = connpool::redis::RedisUrl::parse(args.redis_url);
  if (!url) {
    std::cerr << "operator_test_server: " << url.error().to_string() << "\n";
    return 2;
  }
  options.backend = "redis";
  options.target = url->redacted();
  options.observer = metrics->make_observer(options.name, options.backend);
  auto pool = connpool::core::Pool<connpool::redis::RedisConnector>::create(
      io.get_executor(), connpool::redis::RedisConnector(*url), pool_config(), options);
  if (!pool) {
    std::cerr << "operator_test_server: " << pool.error().to_string() << "\n";
    return 2;
  }
  auto work = [](connpool::redis::Connection& conn) -> asio::awaitable<bool> {
    static constexpr std::string_view kPing[] = {"PING"};
    auto reply = co_await conn.execute(kPing);
    co_return static_cast<bool>(reply);
  };
  return serve(args, io, std::move(pool).value(), work, pools, metrics, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  if (!args) {
    std::cerr << "operator_test_server: " << args.error().to_string() << "\n";
    return 2;
  }
  return run(*args);
}
