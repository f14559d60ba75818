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
/// - connect(): Connection::connect on the calling coroutine's executor (the pool's).
/// - validate(): `UNWATCH` + `PING` in one round trip, bounded by url.pool.validation_timeout:
///   it both resets a WATCH left behind by an exclusive user and proves the link is alive.
///   A timeout is errc::validation_timeout and breaks the connection.
/// - recycle(): false once the connection is broken (I/O error, timeout, protocol error).
/// - close(): closes the socket without blocking.
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

  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect();
  boost::asio::awaitable<Result<void>> validate(Connection& conn);
  bool recycle(Connection& conn) noexcept { return !conn.broken(); }
  void close(Connection& conn) noexcept { conn.close(); }

  [[nodiscard]] const RedisUrl& url() const noexcept { return *url_; }

 private:
  std::shared_ptr<const RedisUrl> url_;
  std::shared_ptr<const ConnectFn> connect_;  // null: Connection::connect(url)
};

static_assert(core::Connector<RedisConnector>);

}  // namespace connpool::redis
