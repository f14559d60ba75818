#include "support_ping.hpp"

#include "connpool/config/redact.hpp"
#include "connpool/redis/cluster/cluster_client.hpp"
#include "connpool/redis/connection.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
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

void fail(ProbeResult& out, std::string detail) {
  out.status = ProbeResult::Status::unhealthy;
  out.detail = std::move(detail);
}

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

// Connects to `url` and PINGs it within the pool's validation_timeout; the error, if any.
asio::awaitable<std::optional<std::string>> ping_once(const redis::RedisUrl& url,
                                                      const config::PoolSpec& spec) {
  auto conn = co_await redis::Connection::connect(co_await asio::this_coro::executor, url);
  if (!conn) co_return conn.error().to_string();
  const std::string_view ping[] = {"PING"};
  auto reply = co_await (*conn)->execute(ping, spec.pool.validation_timeout);
  (*conn)->close();
  if (!reply) co_return reply.error().to_string();
  if (!reply->is_status() || reply->str() != "PONG") {
    co_return "unexpected reply to PING: " + reply->to_display();
  }
  co_return std::nullopt;
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

// Asks one Sentinel where the master is: "host:port" in `master`, or the error.
asio::awaitable<std::optional<std::string>> ask_sentinel(const redis::SentinelUrl& url,
                                                         const redis::SentinelUrl::Address& at,
                                                         const config::PoolSpec& spec,
                                                         redis::SentinelUrl::Address& master) {
  // The master template carries the configuration's connect_timeout (probe_sentinel sets it).
  const redis::RedisUrl sentinel = url.sentinel_url(at);
  const std::string where = "sentinel " + sentinel.endpoint() + ": ";
  auto conn = co_await redis::Connection::connect(co_await asio::this_coro::executor, sentinel);
  if (!conn) co_return where + conn.error().to_string();
  const std::string_view ask[] = {"SENTINEL", "get-master-addr-by-name", url.master_name};
  auto reply = co_await (*conn)->execute(ask, spec.pool.validation_timeout);
  (*conn)->close();
  if (!reply) co_return where + reply.error().to_string();
  if (reply->is_error()) co_return where + reply->str();
  const auto& e = reply->elements();
  if (!reply->is_array() || e.size() != 2) {
    co_return where + "does not know a master named '" + url.master_name + "'";
  }
  unsigned port = 0;
  const std::string& text = e[1].str();
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || ptr != text.data() + text.size() || port == 0 || port > 65535) {
    co_return where + "answered an invalid master address: " + reply->to_display();
  }
  master.host = e[0].str();
  master.port = static_cast<std::uint16_t>(port);
  co_return std::nullopt;
}

// Sentinel: the first Sentinel that answers names the master, which must answer PING. The
// detail reports the master's address (or every Sentinel's failure).
asio::awaitable<void> probe_sentinel(const config::PoolSpec& spec, ProbeResult& out) {
  auto url = redis::SentinelUrl::parse(spec.redis.url);
  if (!url) co_return fail(out, url.error().to_string());
  url->master.pool = spec.pool;
  out.endpoint = url->redacted();
  const auto start = Clock::now();
  std::optional<redis::SentinelUrl::Address> master;
  std::string errors;
  for (const auto& sentinel : url->sentinels) {
    redis::SentinelUrl::Address found;
    auto failure = co_await ask_sentinel(*url, sentinel, spec, found);
    if (!failure) {
      master = found;
      break;
    }
    errors += (errors.empty() ? "" : "; ") + *failure;
  }
  if (!master) {
    out.latency = since(start);
    co_return fail(out, "no Sentinel named the master: " + errors);
  }
  const redis::RedisUrl master_url = url->master_url(*master);
  auto failure = co_await ping_once(master_url, spec);
  out.latency = since(start);
  if (failure) co_return fail(out, "master " + master_url.endpoint() + ": " + *failure);
  out.status = ProbeResult::Status::healthy;
  out.detail = "PONG from master " + master_url.endpoint();
}

bool is_cluster_url(std::string_view url) {
  return url.starts_with("redis-cluster://") || url.starts_with("rediss-cluster://");
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
