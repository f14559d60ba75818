#include "support_ping.hpp"

#include "connpool/config/redact.hpp"
#include "connpool/redis/connection.hpp"

#include <algorithm>
#if CONNPOOL_HAVE_firestore
#include "connpool/firestore/connector.hpp"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace connpool::cli {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> probe_redis(const config::PoolSpec& spec, ProbeResult& out) {
  auto url = redis::RedisUrl::parse(spec.redis.url);
  if (!url) {
    out.status = ProbeResult::Status::unhealthy;
    out.detail = url.error().to_string();
    co_return;
  }
  // The configuration is the authority on pool policy: connect within its connect_timeout,
  // ping within its validation_timeout.
  url->pool = spec.pool;
  out.endpoint = url->redacted();
  const auto start = Clock::now();
  auto conn = co_await redis::Connection::connect(co_await asio::this_coro::executor, *url);
  if (!conn) {
    out.status = ProbeResult::Status::unhealthy;
    out.detail = conn.error().to_string();
    co_return;
  }
  const std::string_view ping[] = {"PING"};
  auto reply = co_await (*conn)->execute(ping, spec.pool.validation_timeout);
  out.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  (*conn)->close();
  if (!reply) {
    out.status = ProbeResult::Status::unhealthy;
    out.detail = reply.error().to_string();
  } else if (reply->is_status() && reply->str() == "PONG") {
    out.status = ProbeResult::Status::healthy;
    out.detail = "PONG";
  } else {
    out.status = ProbeResult::Status::unhealthy;
    out.detail = "unexpected reply to PING: " + reply->to_display();
  }
}

#if CONNPOOL_HAVE_firestore
asio::awaitable<void> probe_firestore(const config::PoolSpec& spec, ProbeResult& out) {
  firestore::FirestoreOptions options;
  options.project_id = spec.firestore.project_id;
  options.database_id = spec.firestore.database;
  options.emulator_host = spec.firestore.emulator_host;
  // connect() proves a new channel with one ping RPC (a read of a document that need not exist).
  options.ping_on_connect = true;
  if (auto valid = options.validate(); !valid) {
    out.status = ProbeResult::Status::unhealthy;
    out.detail = valid.error().to_string();
    co_return;
  }
  // One attempt can fail on a healthy server (a new channel's first HTTP/2 handshake may lose a
  // race with gRPC's connect deadline), and the pool itself would retry with backoff: so retry
  // until the pool's connect_timeout is spent, and report the last error.
  const auto start = Clock::now();
  const auto deadline = start + spec.pool.connect_timeout;
  auto backoff = std::chrono::milliseconds(100);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    options.call_timeout = std::max(left, std::chrono::milliseconds(1));
    firestore::FirestoreConnector connector(options);
    auto conn = co_await connector.connect();
    if (conn) {
      out.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      connector.close(**conn);
      out.status = ProbeResult::Status::healthy;
      out.detail = "ping ok";
      co_return;
    }
    out.status = ProbeResult::Status::unhealthy;
    out.detail = conn.error().to_string();
    if (Clock::now() + backoff >= deadline) co_return;
    timer.expires_after(backoff);
    co_await timer.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}
#endif

}  // namespace

std::vector<ProbeResult> probe_pools(const std::vector<config::PoolSpec>& pools) {
  std::vector<ProbeResult> results(pools.size());
  asio::io_context io;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const config::PoolSpec& spec = pools[i];
    ProbeResult& out = results[i];
    out.pool = spec.name;
    out.backend = std::string(config::to_string(spec.backend));
    if (spec.backend == config::Backend::redis) {
      out.endpoint = config::redact_url(spec.redis.url);
      asio::co_spawn(io, probe_redis(spec, out), asio::detached);
    } else {
      out.endpoint =
          spec.firestore.emulator_host.empty()
              ? "firestore.googleapis.com:443 (" + spec.firestore.project_id + ")"
              : spec.firestore.emulator_host + " (emulator, " + spec.firestore.project_id + ")";
#if CONNPOOL_HAVE_firestore
      asio::co_spawn(io, probe_firestore(spec, out), asio::detached);
#else
      // Built with CONNPOOL_WITH_FIRESTORE=OFF: there is no client to probe with.
      out.status = ProbeResult::Status::unchecked;
      out.detail = "connpool was built without the Firestore backend";
#endif
    }
  }
  io.run();
  return results;
}

}  // namespace connpool::cli
