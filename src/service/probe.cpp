#include "connpool/service/probe.hpp"

#include "connpool/config/redact.hpp"
#include "connpool/core/backoff.hpp"
#include "connpool/firestore/connector.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"
#include "connpool/redis/connection.hpp"
#include "connpool/redis/sentinel/sentinel_connect.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"
#include "connpool/service/urls.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <string>

namespace connpool::service {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

void fail(ProbeResult& out, std::string detail) {
  out.status = ProbeResult::Status::unhealthy;
  out.detail = std::move(detail);
}

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

// PINGs `conn` within the pool's validation_timeout and closes it; the error, if any.
asio::awaitable<std::optional<std::string>> ping_and_close(redis::Connection& conn,
                                                           const config::PoolSpec& spec) {
  const std::string_view ping[] = {"PING"};
  auto reply = co_await conn.execute(ping, spec.pool.validation_timeout);
  conn.close();
  if (!reply) co_return reply.error().to_string();
  if (!reply->is_status() || reply->str() != "PONG") {
    co_return "unexpected reply to PING: " + reply->to_display();
  }
  co_return std::nullopt;
}

// Connects to `url` and PINGs it; the error, if any.
asio::awaitable<std::optional<std::string>> ping_once(const redis::RedisUrl& url,
                                                      const config::PoolSpec& spec) {
  auto conn = co_await redis::Connection::connect(co_await asio::this_coro::executor, url);
  if (!conn) co_return conn.error().to_string();
  co_return co_await ping_and_close(**conn, spec);
}

asio::awaitable<void> probe_redis(const config::PoolSpec& spec, ProbeResult& out) {
  auto url = redis::RedisUrl::parse(spec.redis.url);
  if (!url) co_return fail(out, url.error().to_string());
  // The configuration is the authority on pool policy: connect within its connect_timeout,
  // ping within its validation_timeout.
  url->pool = spec.pool;
  out.endpoint = url->redacted();
  const auto start = Clock::now();
  auto failure = co_await ping_once(*url, spec);
  out.latency = since(start);
  if (failure) co_return fail(out, std::move(*failure));
  out.status = ProbeResult::Status::healthy;
  out.detail = "PONG";
}

// A cluster is healthy when its slot map loads and every primary answers PING; the detail names
// the node that did not.
asio::awaitable<void> probe_cluster(const config::PoolSpec& spec, ProbeResult& out) {
  auto url = redis::cluster::ClusterUrl::parse(spec.redis.url);
  if (!url) co_return fail(out, url.error().to_string());
  url->node.pool = spec.pool;
  // One connection per node is all a probe needs: no warm-up, no background refresh.
  url->node.pool.min_size = 0;
  url->node.pool.min_idle = 0;
  url->refresh_interval = std::chrono::milliseconds(0);
  url->max_retries = 0;
  out.endpoint = url->redacted();
  core::PoolOptions options;
  options.name = spec.name;
  auto client = redis::cluster::ClusterClient::create(co_await asio::this_coro::executor,
                                                      std::move(*url), options);
  if (!client) co_return fail(out, client.error().to_string());
  const auto start = Clock::now();
  auto loaded = co_await client->refresh();
  if (!loaded) {
    client->close_now();
    co_return fail(out, "no slot map: " + loaded.error().to_string());
  }
  const auto nodes = client->nodes();
  std::size_t primaries = 0;
  std::string failed;
  for (const auto& node : nodes) {
    if (node.role != redis::cluster::NodeRole::primary) continue;
    ++primaries;
    redis::Client node_client = node.client;
    auto pong = co_await node_client.ping();
    if (!pong && failed.empty()) {
      failed = "primary " + node.address.text() + ": " + pong.error().to_string();
    }
  }
  out.latency = since(start);
  client->close_now();
  if (!failed.empty()) co_return fail(out, std::move(failed));
  out.status = ProbeResult::Status::healthy;
  out.detail = "PONG from " + std::to_string(primaries) + " primaries (" +
               std::to_string(nodes.size()) + " nodes)";
}

// Sentinel: the node the Sentinels name (the master, or with role=replica a healthy replica),
// found and checked with ROLE as the pool would, must answer PING. The detail names the node.
asio::awaitable<void> probe_sentinel(const config::PoolSpec& spec, ProbeResult& out) {
  auto url = redis::SentinelUrl::parse(spec.redis.url);
  if (!url) co_return fail(out, url.error().to_string());
  // The configuration's timeouts apply to the Sentinels and the node alike.
  url->master.pool = spec.pool;
  out.endpoint = url->redacted();
  const std::string role = url->role == redis::SentinelUrl::Role::replica ? "replica" : "master";
  const auto start = Clock::now();
  auto conn =
      co_await redis::connect_via_sentinels(co_await asio::this_coro::executor, std::move(*url));
  if (!conn) {
    out.latency = since(start);
    co_return fail(out, "no " + role + ": " + conn.error().to_string());
  }
  const std::string node = (*conn)->url().endpoint();
  auto failure = co_await ping_and_close(**conn, spec);
  out.latency = since(start);
  if (failure) co_return fail(out, role + " " + node + ": " + *failure);
  out.status = ProbeResult::Status::healthy;
  out.detail = "PONG from " + role + " " + node;
}

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
  core::BackoffPolicy policy;
  policy.initial = std::chrono::milliseconds(100);
  policy.max = std::chrono::milliseconds(1000);
  policy.jitter = 0;  // one probe per pool: nobody to spread out from
  core::Backoff backoff(policy);
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
    const auto pause = backoff.next();
    if (Clock::now() + pause >= deadline) co_return;
    timer.expires_after(pause);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

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
      if (is_cluster_url(spec.redis.url)) {
        asio::co_spawn(io, probe_cluster(spec, out), asio::detached);
      } else if (redis::SentinelUrl::matches(spec.redis.url)) {
        asio::co_spawn(io, probe_sentinel(spec, out), asio::detached);
      } else {
        asio::co_spawn(io, probe_redis(spec, out), asio::detached);
      }
    } else {
      out.endpoint =
          spec.firestore.emulator_host.empty()
              ? "firestore.googleapis.com:443 (" + spec.firestore.project_id + ")"
              : spec.firestore.emulator_host + " (emulator, " + spec.firestore.project_id + ")";
      asio::co_spawn(io, probe_firestore(spec, out), asio::detached);
    }
  }
  io.run();
  return results;
}

}  // namespace connpool::service
