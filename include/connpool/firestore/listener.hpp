// Real-time listeners: a Listener streams consistent snapshots of one document or one query's
// results from Firestore's Listen RPC (see docs/firestore.md, "Real-time listeners").
//
// Threading: a Listener is read by one coroutine at a time (next() is not reentrant); close() may
// be called from any thread. The stream runs on a strand of the pool's executor; next() resumes
// on the awaiting coroutine's executor.
#pragma once

#include "connpool/core/backoff.hpp"
#include "connpool/core/result.hpp"
#include "connpool/firestore/value.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace connpool::firestore {

namespace detail {
struct ListenerImpl;
}  // namespace detail

/// A document to listen to, by its path relative to the database ("COLLECTION/ID[/SUB/ID...]").
struct DocumentRef {
  std::string path;
  static DocumentRef at(std::string_view collection, std::string_view id) {
    std::string p(collection);
    p += '/';
    p += id;
    return DocumentRef{std::move(p)};
  }
};

/// How one document differs from the previous snapshot. Applying a snapshot's changes in order
/// to the previous snapshot's documents gives this one's: `old_index` is the position in the list
/// as it stood before this change (-1 for added), `new_index` the position after it (-1 for
/// removed), as the official clients report them.
struct DocumentChange {
  enum class Type { added, modified, removed };
  Type type = Type::added;
  Document document;  ///< the new version; for removed, the last version seen
  std::int64_t old_index = -1;
  std::int64_t new_index = -1;
};

/// A consistent view of the target at `read_time`.
struct Snapshot {
  /// Sorted by the query's order_by fields, then by document name (by name alone for a document
  /// listener or a query without order_by). A document listener has 0 or 1 documents.
  std::vector<Document> documents;
  /// Since the previous snapshot (the first snapshot lists every document as added).
  std::vector<DocumentChange> changes;
  Timestamp read_time;
};

/// Per-listener settings. Plain aggregate.
struct ListenOptions {
  /// Snapshots the consumer has not taken yet. When one more arrives, the listener stops with
  /// errc::resource_exhausted (after the buffered ones are delivered). Must be > 0. Default 64.
  std::size_t max_buffered_snapshots = 64;
  /// Waits between reconnects of a broken stream (reset after a consistent snapshot).
  core::BackoffPolicy reconnect{std::chrono::milliseconds(100), std::chrono::seconds(10), 2.0, 1.0};
};

/// Snapshots of one listen target. Move-only; destroying it closes it.
class Listener {
 public:
  Listener() = default;
  explicit Listener(std::shared_ptr<detail::ListenerImpl> impl) noexcept;
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  /// The next consistent snapshot (the first one describes the initial state). Errors end the
  /// listener: resource_exhausted (the consumer fell max_buffered_snapshots behind), cancelled
  /// (closed, or this call was cancelled: cancelling next() closes the listener), a permanent
  /// server error (e.g. permission_denied, invalid_argument, the target removed by the server).
  /// Transient stream failures are not errors: the listener reconnects and resumes.
  boost::asio::awaitable<Result<Snapshot>> next();

  /// Stops the stream and returns its channel lease. Idempotent, thread-safe.
  void close() noexcept;

  /// Reconnects so far (streams opened after the first); for tests and metrics.
  [[nodiscard]] std::uint64_t reconnects() const noexcept;

 private:
  std::shared_ptr<detail::ListenerImpl> impl_;
};

}  // namespace connpool::firestore
