// The default Redis pool and the one-line helpers of the original system.
//
// DefaultRedisRegistry is THE ONLY SINGLETON in connpool: a process-wide Client, created on first
// use, with its own io_context run by one background thread. It reads the same configuration as
// `connpool serve` (connpool/defaults/pool_spec.hpp): the file named by CONNPOOL_CONFIG, REDIS_URL
// and CONNPOOL_POOLS__<NAME>__<FIELD>, and the CONNPOOL_ENV profile; its pool is the one named
// "redis" or the only Redis pool, else redis://127.0.0.1:6379 with the built-in defaults. So a
// production process gets max_size 50, development and staging 20 (min_size 5, max_idle_time
// 600 s, health_check_interval 30 s unless configured). Everything else in connpool is an explicit
// object you create and own; prefer that in new code and keep this for call sites that cannot
// carry a Client around.
//
// Linking: these functions live in the library connpool::defaults (pkg-config connpool-defaults),
// which sits above connpool::config; the header stays here for existing includes.
//
// Thread safety: every function here is safe from any thread *except* the registry's own
// io thread (they block on it). Lifetimes: the registry lives until static destruction, which
// closes the pools and joins the thread; shutdown() does it earlier.
#pragma once

#include "connpool/redis/client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace connpool::redis {

class DefaultRedisRegistry {
 public:
  /// The process-wide instance (created, with its thread, on first call).
  static DefaultRedisRegistry& instance();

  /// The default client, created on the first successful call from the configuration. A bad
  /// configuration (errc::invalid_config naming the file position or variable, the key and the
  /// rule; passwords redacted) is reported on every call until it is fixed.
  Result<Client> client();
  /// Uses `url` instead of the configured url from now on (the pool policy still comes from the
  /// configuration); an existing default client is closed (its leases stay valid until
  /// returned).
  Result<void> configure(std::string_view url);
  /// Closes the default client and forgets configure()'s url: the next call reads the
  /// configuration again (e.g. after the environment or the file changed).
  void reset() noexcept;
  /// Closes the default client and stops the thread. Later calls fail with pool_closed.
  void shutdown() noexcept;

  ~DefaultRedisRegistry();
  DefaultRedisRegistry(const DefaultRedisRegistry&) = delete;
  DefaultRedisRegistry& operator=(const DefaultRedisRegistry&) = delete;

 private:
  DefaultRedisRegistry();

  std::mutex mu_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::optional<std::string> url_override_;
  std::optional<Client> client_;
  bool shut_down_ = false;
};

/// The default client (see DefaultRedisRegistry); `.pool()` is the pool itself.
Result<Client> get_redis_pool();
/// GET on the default pool (blocking).
Result<std::optional<std::string>> redis_get(std::string_view key);
/// SET on the default pool (blocking); `ex` > 0 sets an expiry in seconds.
Result<bool> redis_set(std::string_view key, std::string_view value,
                       std::chrono::seconds ex = std::chrono::seconds(0));

/// A scoped, exclusive lease on the default pool for direct, blocking access (the original
/// system's PooledConnection). Returned to the pool when destroyed. One thread at a time.
class PooledConnection {
 public:
  static Result<PooledConnection> acquire();

  /// Runs one command on this connection (blocking); error replies are Replies.
  Result<Reply> command(std::vector<std::string> args);
  Connection& operator*() const noexcept { return *lease_; }
  Connection* operator->() const noexcept { return lease_.get(); }
  /// Closes the connection instead of returning it (e.g. after changing its state).
  void discard() noexcept { lease_.discard(); }

 private:
  PooledConnection(Client client, RedisLease lease)
      : client_(std::move(client)), lease_(std::move(lease)) {}
  Client client_;
  RedisLease lease_;
};

}  // namespace connpool::redis
