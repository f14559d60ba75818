// The pool core on its own: a Connector for a made-up backend, a pool, and leases.
// Built with the project; run it: build/bin/example_core_pool
#include "connpool/core/pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <memory>

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A "connection" to something; a real one would own a socket.
struct Session {
  int id;
  bool healthy = true;
};

// The backend contract: how to open, check, recycle and close one connection.
struct SessionConnector {
  using connection_type = Session;
  int next_id = 1;

  asio::awaitable<connpool::Result<std::unique_ptr<Session>>> connect() {
    co_return std::make_unique<Session>(Session{next_id++});
  }
  asio::awaitable<connpool::Result<void>> validate(Session& s) {
    if (!s.healthy) co_return connpool::Error(connpool::errc::validation_failed, "unhealthy");
    co_return connpool::ok();
  }
  bool recycle(Session& s) noexcept { return s.healthy; }
  void close(Session&) noexcept {}
};

int main() {
  asio::io_context ioc;

  connpool::core::PoolConfig config;
  config.min_size = 2;             // opened at start
  config.max_size = 4;             // hard cap
  config.acquire_timeout = 250ms;  // how long acquire() may wait

  auto pool = connpool::core::Pool<SessionConnector>::create(ioc.get_executor(), SessionConnector{},
                                                             config);
  if (!pool) {
    std::fprintf(stderr, "bad config: %s\n", pool.error().to_string().c_str());
    return 2;
  }

  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        {
          auto lease = co_await pool->acquire();
          if (!lease) {
            std::fprintf(stderr, "%s\n", lease.error().to_string().c_str());
            co_return;
          }
          std::printf("using session %d\n", (*lease)->id);
        }  // the lease goes out of scope: the session is back in the pool

        auto broken = co_await pool->acquire();
        (*broken)->healthy = false;
        broken->discard();  // closed and replaced in the background

        const auto s = pool->stats();
        std::printf("total=%zu idle=%zu in_use=%zu created=%llu closed=%llu\n", s.total, s.idle,
                    s.in_use, static_cast<unsigned long long>(s.created),
                    static_cast<unsigned long long>(s.closed_total()));
        co_await pool->close(1s);  // graceful drain
      },
      asio::detached);
  ioc.run();
  return 0;
}
