// execute_within: a batch whose replies are parsed into Reply trees, but gathered only up to a
// byte bound (the proxy's cluster path, which must not hold more replies than its client's
// output can take; see Connection::execute_raw).
#pragma once

#include "connpool/redis/connection.hpp"
#include "connpool/redis/reply.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace connpool::redis::detail {

struct RepliesWithin {
  std::vector<Reply> replies;  ///< one per command of the batch, in order
  std::size_t bytes = 0;       ///< their wire size (what the caller counts against its bound)
};

/// As Connection::execute(batch), but when the replies come to more than `max_bytes` on the
/// wire the call fails at once with errc::resource_exhausted, holding nothing more (the rest is
/// read and dropped: the connection stays usable). The batch is copied, not consumed.
boost::asio::awaitable<Result<RepliesWithin>> execute_within(
    Connection& connection, const RequestBatch& batch,
    std::optional<std::chrono::milliseconds> timeout, std::size_t max_bytes);

}  // namespace connpool::redis::detail
