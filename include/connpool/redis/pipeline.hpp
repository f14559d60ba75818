// Pipeline and Transaction: batches of commands on one leased connection.
//
// Both are move-only and hold their lease until destroyed (or release()d). Use each from one
// task at a time. Created by Client::pipeline() / Client::transaction().
#pragma once

#include "connpool/core/lease.hpp"
#include "connpool/redis/connection.hpp"
#include "connpool/redis/reply.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace connpool::redis {

/// Queued commands sent in one write; replies in order. exec() may be called repeatedly: each
/// call sends what was queued since the previous one.
class Pipeline {
 public:
  explicit Pipeline(core::Lease<Connection> lease) : lease_(std::move(lease)) {}

  Pipeline& add(std::span<const std::string_view> args) {
    batch_.add(args);
    return *this;
  }
  /// Convenience: `p.add({"SET", "k", "v"})` (not inside a co_await expression with GCC 12).
  Pipeline& add(std::initializer_list<std::string_view> args) {
    return add(std::span<const std::string_view>(args.begin(), args.size()));
  }
  [[nodiscard]] std::size_t size() const noexcept { return batch_.size(); }

  /// Sends the queued commands; error replies are Replies of type error. An I/O error,
  /// timeout or protocol error fails the whole call and discards the connection.
  boost::asio::awaitable<Result<std::vector<Reply>>> exec();

  /// Returns the connection to the pool early.
  void release() noexcept { lease_.release(); }
  [[nodiscard]] Connection& connection() const noexcept { return *lease_; }

 private:
  core::Lease<Connection> lease_;
  RequestBatch batch_;
};

/// MULTI/EXEC with optional WATCH (optimistic locking) on an exclusive lease:
///
///   auto tx = co_await client.transaction(watch_keys);   // WATCH sent
///   auto cur = co_await tx->command(get_args);           // reads run at once
///   tx->queue(set_args);                                 // queued for EXEC
///   auto results = co_await tx->exec();                  // errc::watch_conflict if a
///                                                        // WATCHed key changed
///
/// A Transaction dropped while WATCHing without exec()/discard() discards its connection
/// (destructors do no I/O, and a pooled connection must not keep a stale WATCH).
class Transaction {
 public:
  Transaction(core::Lease<Connection> lease, bool watching)
      : lease_(std::move(lease)), watching_(watching) {}
  Transaction(Transaction&&) noexcept = default;
  Transaction& operator=(Transaction&&) noexcept = default;
  ~Transaction();

  /// Runs one command now, on the transaction's connection (e.g. reads after WATCH).
  boost::asio::awaitable<Result<Reply>> command(std::span<const std::string_view> args);
  /// Queues one command for exec().
  Transaction& queue(std::span<const std::string_view> args) {
    queued_.add(args);
    return *this;
  }
  Transaction& queue(std::initializer_list<std::string_view> args) {
    return queue(std::span<const std::string_view>(args.begin(), args.size()));
  }
  [[nodiscard]] std::size_t queued() const noexcept { return queued_.size(); }

  /// Sends MULTI, the queued commands and EXEC in one write. Returns EXEC's replies (an error
  /// reply of one command is a Reply of type error there). errc::watch_conflict when a
  /// WATCHed key changed (nothing was applied); errc::server_error when Redis refused the
  /// transaction (EXECABORT). The lease is released afterwards.
  boost::asio::awaitable<Result<std::vector<Reply>>> exec();
  /// UNWATCH and release the connection without executing.
  boost::asio::awaitable<Result<void>> discard();

 private:
  core::Lease<Connection> lease_;
  RequestBatch queued_;
  bool watching_ = false;
};

}  // namespace connpool::redis
