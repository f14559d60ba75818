// execute_within (see batch_within.hpp): relayed bytes, bounded, then parsed.
#include "batch_within.hpp"

#include "resp.hpp"

#include <utility>

namespace connpool::redis::detail {

boost::asio::awaitable<Result<RepliesWithin>> execute_within(
    Connection& connection, const RequestBatch& batch,
    std::optional<std::chrono::milliseconds> timeout, std::size_t max_bytes) {
  const std::size_t count = batch.size();
  RequestBatch copy = batch;
  auto raw = co_await connection.execute_raw(std::move(copy), timeout, max_bytes);
  if (!raw) co_return std::move(raw).error();
  // The framer already checked each reply against max_reply_bytes: the reader's bound is the
  // same, so it cannot refuse what the connection accepted.
  RespReader reader(connection.url().max_reply_bytes);
  RepliesWithin out;
  out.bytes = raw->bytes.size();
  out.replies.reserve(count);
  // Fed in slices, each drained before the next, so the reader never holds a copy of them all.
  constexpr std::size_t kSlice = 64 * 1024;
  const std::string_view bytes = raw->bytes;
  for (std::size_t at = 0; at < bytes.size(); at += kSlice) {
    const auto slice = bytes.substr(at, kSlice);
    if (auto fed = reader.feed(slice.data(), slice.size()); !fed) co_return std::move(fed).error();
    while (out.replies.size() < count) {
      auto next = reader.next();
      if (!next) co_return std::move(next).error();
      if (!*next) break;
      out.replies.push_back(std::move(**next));
    }
  }
  if (out.replies.size() != count) {
    co_return Error(errc::protocol_error, "redis: relayed replies ended early");
  }
  co_return out;
}

}  // namespace connpool::redis::detail
