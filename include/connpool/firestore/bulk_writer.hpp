// BulkWriter: many independent writes through the BatchWrite RPC (see docs/firestore.md,
// "Bulk writer"). Unlike commit(), a batch is not atomic: each write succeeds or fails on its
// own, and the writer retries the retryable failures.
//
// Threading: one coroutine uses a BulkWriter at a time (not thread-safe). The calls may be
// awaited from any executor.
#pragma once

#include "connpool/core/backoff.hpp"
#include "connpool/core/result.hpp"
#include "connpool/firestore/write.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace connpool::firestore {

namespace detail {
struct ClientImpl;
}  // namespace detail

/// Settings. Plain aggregate; BulkWriter checks it (the first flush fails with invalid_argument
/// naming the field).
struct BulkWriterOptions {
  /// Writes per BatchWrite request, 1..500. Default 500 (Firestore's cap).
  std::size_t max_batch_size = 500;
  /// Firestore's "500/50/5" ramp-up rule as a rate limit: start at `initial_ops_per_second`,
  /// grow by `ramp_up_factor` every `ramp_up_interval` of writing, up to `max_ops_per_second`.
  /// Defaults 500 ops/s, x1.5 every 5 minutes, cap 10000. `rate_limit = false` disables it
  /// (e.g. against the emulator).
  bool rate_limit = true;
  double initial_ops_per_second = 500;
  double max_ops_per_second = 10000;
  double ramp_up_factor = 1.5;
  std::chrono::seconds ramp_up_interval{300};
  /// Attempts per write, the first included, for the retryable failures (ABORTED, UNAVAILABLE,
  /// RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED). Default 10. Must be >= 1.
  int max_attempts = 10;
  /// Waits between rounds of retries.
  core::BackoffPolicy retry{std::chrono::milliseconds(100), std::chrono::seconds(30), 2.0, 1.0};
};

/// The outcome of one write given to BulkWriter::add().
struct BulkWriteResult {
  std::size_t index = 0;  ///< add()'s return value
  int attempts = 0;       ///< 0 when the write was refused before any RPC
  /// The write's result, or its own error (e.g. failed_precondition, already_exists,
  /// invalid_argument for a bad path), with "after N attempts" when it was retried.
  Result<WriteResult> result = WriteResult{};
};

class BulkWriter {
 public:
  explicit BulkWriter(std::shared_ptr<detail::ClientImpl> client, BulkWriterOptions options = {});
  BulkWriter(BulkWriter&&) noexcept;
  BulkWriter& operator=(BulkWriter&&) noexcept;
  ~BulkWriter();

  /// Queues a write and returns its index (0, 1, 2, ... over the writer's life). Nothing is sent
  /// until flush(). After close() the write is refused (its result says so).
  std::size_t add(Write write);

  /// Sends every queued write (batches of max_batch_size, paced by the rate limit, retryable
  /// failures retried with backoff) and returns one result per write flushed, in add() order.
  /// The outer Result fails only for bad options; per-write failures are in the results.
  boost::asio::awaitable<Result<std::vector<BulkWriteResult>>> flush();

  /// flush(), then refuse further writes.
  boost::asio::awaitable<Result<std::vector<BulkWriteResult>>> close();

  /// Writes queued and not yet flushed.
  [[nodiscard]] std::size_t pending() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace connpool::firestore
