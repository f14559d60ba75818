#include "connpool/redis/connector.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <string_view>

namespace connpool::redis {

boost::asio::awaitable<Result<std::unique_ptr<Connection>>> RedisConnector::connect(
    core::Deadline deadline) {
  if (connect_) {
    auto op = (*connect_)();
    co_return co_await std::move(op);
  }
  auto executor = co_await boost::asio::this_coro::executor;
  co_return co_await Connection::connect(executor, *url_, deadline.at);
}

boost::asio::awaitable<Result<void>> RedisConnector::validate(Connection& conn,
                                                              core::Deadline deadline) {
  RequestBatch batch;
  const std::array<std::string_view, 1> unwatch{"UNWATCH"};
  const std::array<std::string_view, 1> ping{"PING"};
  batch.add(unwatch);
  batch.add(ping);
  // At least 1 ms: a zero timeout would mean "none".
  const auto timeout = std::max(std::chrono::milliseconds(1), deadline.remaining());
  auto replies = co_await conn.execute(batch, timeout);
  if (!replies) {
    const Error& e = replies.error();
    if (e.is(errc::timeout)) {
      co_return Error(errc::validation_timeout,
                      "PING to " + url_->endpoint() + " got no reply within validation_timeout");
    }
    if (e.is(errc::cancelled)) co_return e;
    co_return Error(errc::validation_failed, "PING to " + url_->endpoint() + ": " + e.to_string());
  }
  const Reply& pong = (*replies)[1];
  if (!pong.is_status() || pong.str() != "PONG") {
    co_return Error(errc::validation_failed,
                    "PING to " + url_->endpoint() + " answered " + pong.to_display());
  }
  co_return ok();
}

}  // namespace connpool::redis
