// Connection::execute_raw: a batch whose replies are relayed, not parsed (the proxy's path).
#include "connpool/redis/connection.hpp"

#include "connection_impl.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace connpool::redis {

boost::asio::awaitable<Result<RawReplies>> Connection::execute_raw(
    RequestBatch batch, std::optional<std::chrono::milliseconds> timeout, std::size_t max_bytes) {
  if (batch.error()) co_return *batch.error();
  if (batch.empty()) co_return RawReplies{};
  const std::size_t count = batch.size();
  detail::Chunk chunk = detail::Chunk::bytes(batch.take_bytes());
  const auto deadline = impl_->deadline_from(timeout);
  auto replies =
      co_await detail::async_submit(impl_, std::move(chunk), count, deadline,
                                    boost::asio::use_awaitable, detail::Framing::raw, max_bytes);
  if (!replies) co_return std::move(replies).error();
  RawReplies out;
  out.bytes = detail::RawResult::take_bytes(*replies);
  out.count = count;
  out.errors = detail::RawResult::errors(*replies);
  co_return out;
}

}  // namespace connpool::redis
