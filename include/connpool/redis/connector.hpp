// RedisConnector: the pool-core Connector for Redis (see connpool/core/connector.hpp).
#pragma once

#include "connpool/core/connector.hpp"
#include "connpool/redis/connection.hpp"
#include "connpool/redis/url.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>

namespace connpool::redis {

/// Opens, checks and closes redis::Connection objects for a core::Pool.
///
/// - connect(deadline): Connection::connect on the calling coroutine's executor (the pool's),
///   bounded by the deadline on the connection's own strand (the pool never cancels it).
///   A custom ConnectFn (Sentinel) bounds itself with url.pool.connect_timeout.
/// - validate(conn, deadline): `UNWATCH` + `PING` in one round trip, bounded by the deadline
///   (command deadline on the connection's strand): it both resets a WATCH left behind by an
///   exclusive user and proves the link is alive. A timeout is errc::validation_timeout and
///   breaks the connection.
/// - connect() / validate(conn): the same with url.pool.connect_timeout / validation_timeout.
/// - recycle(): false once the connection is broken (I/O error, timeout, protocol error).
/// - close(): closes the socket without blocking.
/// - watch(): Connection::on_broken, so that a pool drops a connection the server closed while it
///   sat idle at once (the reader sees the EOF) rather than at the next health check.
///
/// Thread safety: all members are safe to call concurrently (the connector holds only the
/// immutable URL, and a thread-safe connect function if one is given).
class RedisConnector {
 public:
  using connection_type = Connection;
  /// Replaces how connect() opens a connection (Sentinel: find and verify the current master).
  using ConnectFn = std::function<boost::asio::awaitable<Result<std::unique_ptr<Connection>>>()>;

  explicit RedisConnector(RedisUrl url) : url_(std::make_shared<const RedisUrl>(std::move(url))) {}
  RedisConnector(RedisUrl url, ConnectFn connect)
      : url_(std::make_shared<const RedisUrl>(std::move(url))),
        connect_(std::make_shared<const ConnectFn>(std::move(connect))) {}

  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect(core::Deadline deadline);
  boost::asio::awaitable<Result<void>> validate(Connection& conn, core::Deadline deadline);
  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect() {
    return connect(core::Deadline::after(url_->pool.connect_timeout));
  }
  boost::asio::awaitable<Result<void>> validate(Connection& conn) {
    return validate(conn, core::Deadline::after(url_->pool.validation_timeout));
  }
  bool recycle(Connection& conn) noexcept { return !conn.broken(); }
  void close(Connection& conn) noexcept { conn.close(); }
  void watch(Connection& conn, std::function<void(const Error&)> callback) {
    conn.on_broken(std::move(callback));
  }

  [[nodiscard]] const RedisUrl& url() const noexcept { return *url_; }

 private:
  std::shared_ptr<const RedisUrl> url_;
  std::shared_ptr<const ConnectFn> connect_;  // null: Connection::connect(url)
};

static_assert(core::Connector<RedisConnector>);

}  // namespace connpool::redis
