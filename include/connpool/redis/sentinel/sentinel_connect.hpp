// connect_via_sentinels: one connection to the node a redis-sentinel:// URL names right now, found
// and verified exactly as a Sentinel-backed Client's pool finds its connections (see
// docs/redis-sentinel.md): for probes and tools that want one answer, not a pool that follows
// failovers.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/connection.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace connpool::redis {

/// Asks the Sentinels for the master (role=replica: the healthy replicas), connects (AUTH,
/// SELECT, ... as for redis://) and checks ROLE. `Connection::url()` of the result names the node.
/// Errors: not_found / unavailable naming the master and what each Sentinel said, or the node's
/// connect or ROLE error; never a password.
boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect_via_sentinels(
    boost::asio::any_io_executor executor, SentinelUrl url);

}  // namespace connpool::redis
