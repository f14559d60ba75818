// What a Client handle shares: the URL, the executor and the pool(s). Internal.
#pragma once

#include "connpool/redis/client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <optional>

namespace connpool::redis::detail {

class MasterFollower;

struct ClientState {
  RedisUrl url;
  boost::asio::any_io_executor executor;
  /// Independent commands (shared leases when url.pipeline_auto).
  std::optional<RedisPool> pool;
  /// Stateful work; empty when pipeline_auto is off (then `pool` is exclusive and serves all).
  std::optional<RedisPool> exclusive;

  /// Sentinel only: follows the master (src/redis/sentinel); destroying it stops the
  /// tracking. Declared last, so it goes first.
  std::shared_ptr<MasterFollower> follower;

  RedisPool& shared_pool() noexcept { return *pool; }
  RedisPool& exclusive_pool() noexcept { return exclusive ? *exclusive : *pool; }
};

/// Errors after which a connection must not be reused by anyone.
inline bool breaks_connection(const Error& e) noexcept {
  return e.is(errc::io_error) || e.is(errc::timeout) || e.is(errc::protocol_error);
}

}  // namespace connpool::redis::detail
