// Client: the high-level, pooled Redis API (typed commands, pipelines, transactions, scan).
//
// Pools (docs/adr/0003-redis-driver.md):
// - pipeline_auto on (default): independent commands take *shared* leases from the "shared"
//   pool (max_leases_per_connection = url.pipeline_max_in_flight), so many concurrent callers
//   are batched onto few sockets. Stateful work (transactions with WATCH, blocking pops,
//   lease()) takes an exclusive lease from a second pool ("<name>-exclusive", opened lazily,
//   max_size = url.pool.max_size, min_size 0).
// - pipeline_auto off: one exclusive pool serves everything (classic one-command-per-lease).
//
// Thread safety: a Client is a cheap handle to shared state; copies share the pools. All
// members are safe from any thread. Coroutine members may be awaited on any executor; they
// complete on the awaiting coroutine's executor. wait() blocks and must not be called from a
// thread running the client's executor (it would deadlock).
//
// Lifetimes: string_view / span arguments must stay valid until the returned awaitable has
// completed (true whenever it is co_awaited at once). When the last Client copy goes, its pools
// close; leases, Pipelines and Transactions still alive keep their connection until destroyed.
//
// Errors: typed commands turn an error reply into errc::server_error (WRONGTYPE, NOPERM, ...)
// and an unexpected reply type into errc::protocol_error; command() returns error replies as a
// Reply of type error. I/O errors, timeouts and protocol errors fail the call and the broken
// connection is discarded and replaced by the pool.
#pragma once

#include "connpool/core/pool.hpp"
#include "connpool/redis/connection.hpp"
#include "connpool/redis/connector.hpp"
#include "connpool/redis/pipeline.hpp"
#include "connpool/redis/reply.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"
#include "connpool/redis/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::redis {

using RedisPool = core::Pool<RedisConnector>;
using RedisLease = core::Lease<Connection>;

/// Options of SET.
struct SetOptions {
  enum class Condition { always, if_not_exists /* NX */, if_exists /* XX */ };
  /// EX: expire after this many seconds. 0 (default) = no EX.
  std::chrono::seconds ex{0};
  /// PX: expire after this many milliseconds. 0 (default) = no PX. Not with ex.
  std::chrono::milliseconds px{0};
  Condition condition = Condition::always;
  /// KEEPTTL: keep the key's current time to live.
  bool keep_ttl = false;
};

/// A member of a sorted set with its score.
struct ScoredMember {
  double score = 0;
  std::string_view member;
};

class ScanIterator;

namespace detail {
struct ClientState;
struct TypedCommands;
}  // namespace detail

class Client {
 public:
  template <class T>
  using Task = boost::asio::awaitable<Result<T>>;
  using Field = std::pair<std::string_view, std::string_view>;

  /// Creates the pool(s) on `executor` (warm-up to min_size starts at once).
  /// `options.name` names the pools in stats/metrics (default "redis"); `options.target` is
  /// filled with the redacted URL.
  static Result<Client> create(boost::asio::any_io_executor executor, RedisUrl url,
                               core::PoolOptions options = {});
  static Result<Client> create(boost::asio::any_io_executor executor, std::string_view url,
                               core::PoolOptions options = {});
  /// A Sentinel-backed client from a parsed redis-sentinel:// URL (e.g. with `master.pool` set
  /// by a configuration); create(executor, "redis-sentinel://...") is parse() + this.
  static Result<Client> create(boost::asio::any_io_executor executor, SentinelUrl url,
                               core::PoolOptions options = {});

  // ---- generic -----------------------------------------------------------------------------
  /// Any command; error replies come back as Reply::Type::error.
  Task<Reply> command(std::span<const std::string_view> args);
  /// Owning form, convenient for dynamic argument lists.
  Task<Reply> command(std::vector<std::string> args);
  Task<void> ping();

  // ---- strings and keys --------------------------------------------------------------------
  Task<std::optional<std::string>> get(std::string_view key);
  /// true when set; false when NX/XX prevented it.
  Task<bool> set(std::string_view key, std::string_view value, SetOptions options = {});
  /// SET ... GET: sets and returns the previous value (nil when there was none).
  Task<std::optional<std::string>> set_get(std::string_view key, std::string_view value,
                                           SetOptions options = {});
  Task<long long> del(std::string_view key);
  Task<long long> del(std::span<const std::string_view> keys);
  Task<long long> exists(std::string_view key);
  Task<long long> exists(std::span<const std::string_view> keys);
  /// true when the timeout was set (the key exists).
  Task<bool> expire(std::string_view key, std::chrono::seconds ttl);
  Task<bool> pexpire(std::string_view key, std::chrono::milliseconds ttl);
  /// Seconds to live; -1 = no expiry, -2 = no such key (Redis semantics).
  Task<long long> ttl(std::string_view key);
  Task<long long> incr(std::string_view key);
  Task<long long> incrby(std::string_view key, long long delta);
  Task<long long> decr(std::string_view key);
  Task<std::vector<std::optional<std::string>>> mget(std::span<const std::string_view> keys);
  Task<void> mset(std::span<const Field> pairs);

  // ---- hashes, lists, sets, sorted sets ----------------------------------------------------
  Task<std::optional<std::string>> hget(std::string_view key, std::string_view field);
  /// Number of fields that were added (not updated).
  Task<long long> hset(std::string_view key, std::string_view field, std::string_view value);
  Task<long long> hset(std::string_view key, std::span<const Field> fields);
  Task<std::vector<std::pair<std::string, std::string>>> hgetall(std::string_view key);
  Task<long long> hdel(std::string_view key, std::span<const std::string_view> fields);
  Task<long long> lpush(std::string_view key, std::span<const std::string_view> values);
  Task<long long> rpush(std::string_view key, std::span<const std::string_view> values);
  Task<std::optional<std::string>> lpop(std::string_view key);
  Task<std::vector<std::string>> lrange(std::string_view key, long long start, long long stop);
  /// BLPOP on an exclusive lease: (key, value), or nothing after `timeout` (0 = forever).
  Task<std::optional<std::pair<std::string, std::string>>> blpop(
      std::span<const std::string_view> keys, std::chrono::seconds timeout);
  Task<long long> sadd(std::string_view key, std::span<const std::string_view> members);
  Task<std::vector<std::string>> smembers(std::string_view key);
  Task<long long> zadd(std::string_view key, std::span<const ScoredMember> members);
  Task<std::vector<std::string>> zrange(std::string_view key, long long start, long long stop);
  Task<std::vector<std::pair<std::string, double>>> zrange_with_scores(std::string_view key,
                                                                       long long start,
                                                                       long long stop);

  // ---- pub/sub, scripting, iteration -------------------------------------------------------
  /// Number of subscribers that received the message.
  Task<long long> publish(std::string_view channel, std::string_view message);
  Task<Reply> eval(std::string_view script, std::span<const std::string_view> keys,
                   std::span<const std::string_view> args);
  Task<Reply> evalsha(std::string_view sha1, std::span<const std::string_view> keys,
                      std::span<const std::string_view> args);
  /// SCRIPT LOAD: the script's SHA1 for evalsha().
  Task<std::string> script_load(std::string_view script);
  /// Cursor iteration over keys (SCAN ... MATCH pattern COUNT count); see ScanIterator.
  [[nodiscard]] ScanIterator scan(std::string match = {}, std::size_t count = 0) const;

  // ---- batches and stateful work -----------------------------------------------------------
  /// A pipeline on one leased connection (shared lease when auto-pipelining: a batch is
  /// written atomically, so it never interleaves with other callers' commands).
  Task<Pipeline> pipeline();
  /// MULTI/EXEC on an exclusive lease; WATCHes `watch_keys` first (optimistic locking).
  Task<Transaction> transaction(std::span<const std::string_view> watch_keys = {});
  /// An exclusive lease for direct use of a Connection (stateful commands, SUBSCRIBE-free).
  Task<RedisLease> lease();

  // ---- blocking forms ----------------------------------------------------------------------
  /// Runs any of the coroutine members to completion from a thread that is *not* running the
  /// client's executor: `auto v = client.wait(client.get("k"));`.
  template <class T>
  Result<T> wait(boost::asio::awaitable<Result<T>> op) const {
    return boost::asio::co_spawn(executor(), std::move(op), boost::asio::use_future).get();
  }

  // ---- introspection -----------------------------------------------------------------------
  [[nodiscard]] const RedisUrl& url() const noexcept;
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  /// The pool serving independent commands (the exclusive pool when pipeline_auto is off).
  [[nodiscard]] RedisPool& pool() const noexcept;
  /// The pool serving stateful work (the same pool when pipeline_auto is off).
  [[nodiscard]] RedisPool& exclusive_pool() const noexcept;
  /// Closes both pools now; leases still out close their connections when returned.
  void close_now() noexcept;

 private:
  friend struct detail::TypedCommands;  // the typed commands shared with ClusterClient
  explicit Client(std::shared_ptr<detail::ClientState> state) : state_(std::move(state)) {}
  Task<Reply> run(std::span<const std::string_view> args);  // error replies -> server_error
  // The one coroutine behind every command: runs `args` (a span the caller keeps alive, or a
  // small array kept in the frame) and turns the reply into the result with `finish` in the
  // same frame, so a command costs one frame, not two. Defined in src/redis/client_exec.hpp.
  template <class T, class Args>
  Task<T> exec(Args args, Result<T> (*finish)(Result<Reply>, std::string_view command));
  std::shared_ptr<detail::ClientState> state_;
};

/// Iterates SCAN. Copyable; holds a Client handle. next() yields one batch of keys per call
/// (possibly empty: SCAN may return empty pages) and nothing once the cursor is back at 0.
/// Keys may repeat across batches (SCAN's guarantee is "at least once").
class ScanIterator {
 public:
  ScanIterator(Client client, std::string match, std::size_t count)
      : client_(std::move(client)), match_(std::move(match)), count_(count) {}
  boost::asio::awaitable<Result<std::optional<std::vector<std::string>>>> next();
  [[nodiscard]] bool done() const noexcept { return done_; }

 private:
  Client client_;
  std::string match_;
  std::size_t count_;
  std::string cursor_ = "0";
  bool done_ = false;
};

}  // namespace connpool::redis
