// firestore::Client: the pooled Firestore client (coroutine API) and BlockingClient (its
// blocking face).
//
// Every call borrows a channel from the pool for the duration of one RPC (a shared lease: up to
// PoolConfig::max_leases_per_connection concurrent RPCs per channel), sends it with a deadline
// (FirestoreOptions::call_timeout) and the routing headers, and maps the gRPC status onto
// connpool::errc with the server's message. Idempotent calls (reads, queries, listings) are
// retried with exponential backoff and jitter on UNAVAILABLE, RESOURCE_EXHAUSTED and
// DEADLINE_EXCEEDED; writes are not; transactions are re-run on ABORTED.
//
// Bad input (paths, ids, field paths, filters, values the server would reject) fails with
// errc::invalid_argument before any RPC, and the message names the culprit.
//
// Threading: a Client is a cheap handle (copies share one pool). Coroutine methods may be awaited
// from any executor; the gRPC completion is posted back to the awaiting coroutine's executor, so
// no io_context thread ever blocks. Cancellation: Asio per-operation cancellation of an awaiting
// coroutine cancels its RPC (the call fails with errc::cancelled).
// Lifetimes: arguments are taken by value, so an awaitable may be started later; a pending call
// keeps the pool alive.
#pragma once

#include "connpool/core/pool.hpp"
#include "connpool/firestore/bulk_writer.hpp"
#include "connpool/firestore/connector.hpp"
#include "connpool/firestore/listener.hpp"
#include "connpool/firestore/options.hpp"
#include "connpool/firestore/query.hpp"
#include "connpool/firestore/value.hpp"
#include "connpool/firestore/write.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace connpool::firestore {

namespace detail {
struct ClientImpl;
struct QueryStreamImpl;
}  // namespace detail

template <class T>
using Task = boost::asio::awaitable<Result<T>>;

/// One page of list_documents().
struct DocumentPage {
  std::vector<Document> documents;
  /// Pass to the next list_documents() call; empty on the last page.
  std::string next_page_token;
};

/// Results of a query, read one document at a time as the server streams them.
///
/// Move-only. Destroying it before the end cancels the RPC and returns its channel lease.
/// Not thread-safe: one coroutine reads it.
class QueryStream {
 public:
  QueryStream() = default;
  explicit QueryStream(std::shared_ptr<detail::QueryStreamImpl> impl) noexcept;
  QueryStream(QueryStream&&) noexcept;
  QueryStream& operator=(QueryStream&&) noexcept;
  ~QueryStream();

  /// The next document; nullopt after the last one. An error ends the stream.
  Task<std::optional<Document>> next();

 private:
  std::shared_ptr<detail::QueryStreamImpl> impl_;
};

/// A read-write transaction, handed to the function given to Client::run_transaction().
///
/// Reads go to the server inside the transaction (and lock what they read); writes are buffered
/// and committed atomically when the function returns success. Valid only inside that function.
class Transaction {
 public:
  Task<std::optional<Document>> get_document(std::string collection, std::string id);
  Task<std::vector<Document>> run_query(Query query);

  void set(std::string collection, std::string id, Map fields, SetOptions options = {});
  void create(std::string collection, std::string id, Map fields);
  void update(std::string collection, std::string id, Map field_values,
              std::vector<std::string> deletes = {});
  void remove(std::string collection, std::string id);
  /// Any write (the forms above build one of these). A write with a bad collection or id makes
  /// the commit fail with errc::invalid_argument naming it (nothing is written).
  void add(Write write) { writes_.push_back(std::move(write)); }

  /// 1 for the first run of the function, 2 after one ABORTED retry, ...
  [[nodiscard]] int attempt() const noexcept { return attempt_; }
  [[nodiscard]] const std::vector<Write>& writes() const noexcept { return writes_; }

 private:
  friend struct detail::ClientImpl;
  Transaction(std::shared_ptr<detail::ClientImpl> impl, std::string id, int attempt)
      : impl_(std::move(impl)), id_(std::move(id)), attempt_(attempt) {}
  std::shared_ptr<detail::ClientImpl> impl_;
  std::string id_;  // the server's transaction id (bytes)
  int attempt_ = 1;
  std::vector<Write> writes_;
  std::optional<Error> bad_write_;  // a set()/update()/... with a bad path fails the commit
};

/// Counters of auto-batching (FirestoreOptions::auto_batch) since the client was created. A queued
/// call that the next batch holds alone goes out as its ordinary RPC and is not counted here.
struct AutoBatchStats {
  std::uint64_t get_batches = 0;     ///< BatchGetDocuments RPCs sent for queued gets
  std::uint64_t batched_gets = 0;    ///< get calls they answered (duplicates included)
  std::uint64_t write_batches = 0;   ///< BatchWrite RPCs sent for queued writes
  std::uint64_t batched_writes = 0;  ///< write calls they answered
};

class BlockingClient;

class Client {
 public:
  using pool_type = core::Pool<FirestoreConnector>;
  /// The body of a transaction; may run several times (after ABORTED), so it must not have
  /// side effects other than through the Transaction.
  using TransactionFunction = std::function<boost::asio::awaitable<Result<void>>(Transaction&)>;

  /// Validates the options and creates the pool on `executor` (which someone must run).
  /// Errors: invalid_config.
  static Result<Client> create(boost::asio::any_io_executor executor, FirestoreOptions options,
                               core::PoolConfig pool_config = default_pool_config(),
                               core::PoolOptions pool_options = {});

  // ---- Documents ----
  /// The document, or nullopt when it does not exist.
  Task<std::optional<Document>> get_document(std::string collection, std::string id);
  /// As get_document() with a document path "COLLECTION/ID[/SUB/ID...]".
  Task<std::optional<Document>> get_document_at(std::string path);
  /// Creates the document; errc::already_exists when it exists.
  Task<WriteResult> create_document(std::string collection, std::string id, Map fields);
  /// Creates or overwrites (or merges, see SetOptions).
  Task<WriteResult> set_document(std::string collection, std::string id, Map fields,
                                 SetOptions options = {});
  /// Changes the given field paths ("a.b" keys) and deletes `deletes`. With the default
  /// precondition a missing document fails with errc::not_found; updated_at(t) fails with
  /// errc::failed_precondition when the document changed since t.
  Task<WriteResult> update_document(std::string collection, std::string id, Map field_values,
                                    Precondition precondition = Precondition::exists(),
                                    std::vector<std::string> deletes = {});
  /// Deletes; a missing document is not an error unless the precondition says so.
  Task<void> delete_document(std::string collection, std::string id,
                             Precondition precondition = {});
  /// Applies server-side transforms (increment, server timestamp, ...); results in order.
  Task<WriteResult> transform_document(std::string collection, std::string id,
                                       std::vector<FieldTransform> transforms);
  /// Reads many documents in one RPC; result i is paths[i] (nullopt when missing).
  Task<std::vector<std::optional<Document>>> batch_get(std::vector<std::string> paths);
  /// Applies up to 500 writes atomically: all or none. Results in order.
  Task<std::vector<WriteResult>> commit(std::vector<Write> writes);

  // ---- Queries ----
  /// The original system's helper: filters ANDed, optional order and limit.
  Task<std::vector<Document>> query_documents(std::string collection, std::vector<Filter> filters,
                                              std::vector<OrderBy> order_by = {},
                                              std::optional<std::int32_t> limit = {});
  Task<std::vector<Document>> run_query(Query query);
  /// Streams results (not supported with limit_to_last, which needs all results to reverse).
  Task<QueryStream> stream_query(Query query);
  /// count / sum / avg over the query's results, keyed by alias.
  Task<AggregationResult> aggregate(Query query, std::vector<Aggregation> aggregations);
  Task<std::int64_t> count(Query query);

  // ---- Listing ----
  /// One page of a collection's documents (page_size 0: server default), including "missing"
  /// documents that only have subcollections.
  Task<DocumentPage> list_documents(std::string collection, std::int32_t page_size = 0,
                                    std::string page_token = {});
  /// Every collection id under a document path, or at the root when `parent_document` is empty.
  Task<std::vector<std::string>> list_collection_ids(std::string parent_document = {});

  // ---- Transactions ----
  /// BeginTransaction, run `fn`, commit its writes; on ABORTED (contention) roll back, wait with
  /// backoff and run again, up to FirestoreOptions::transaction_max_attempts. An error returned by
  /// `fn` rolls back and is returned as is.
  Task<void> run_transaction(TransactionFunction fn);

  // ---- Real-time listeners (connpool/firestore/listener.hpp) ----
  /// Streams snapshots of one document / of a query's results until closed. Each open listener
  /// holds one shared channel lease for as long as its stream is up, and at most
  /// FirestoreOptions::max_listeners are open per pool. Errors: invalid_argument (bad path,
  /// limit_to_last, bad options), resource_exhausted (the cap is reached).
  Result<Listener> listen(DocumentRef document, ListenOptions options = {});
  Result<Listener> listen(Query query, ListenOptions options = {});

  // ---- Bulk writes (connpool/firestore/bulk_writer.hpp) ----
  /// A writer for many independent (non-atomic) writes through BatchWrite.
  [[nodiscard]] BulkWriter bulk_writer(BulkWriterOptions options = {}) const;

  /// Closes the open listeners (their next() fails with CANCELLED, "the client was closed"),
  /// cancels the RPCs in flight, unary calls, streamed reads and Listen streams (their callers
  /// get CANCELLED), waits up to `bound` for gRPC to complete them, and closes the pool without
  /// draining leases. After it returns no completion of this client posts to its executor, so
  /// the io_context may be destroyed (destroy Listener objects first); calls and listen() made
  /// later fail with CANCELLED. Calls gRPC still had not completed after `bound` are abandoned
  /// (their coroutines never resume). Blocks; callable from any thread.
  /// Returns how many calls were abandoned.
  std::size_t close(std::chrono::milliseconds bound = std::chrono::milliseconds(5000));

  [[nodiscard]] pool_type& pool() const noexcept;
  [[nodiscard]] const FirestoreOptions& options() const noexcept;
  /// How much auto-batching happened (all zero when it is off). Thread-safe.
  [[nodiscard]] AutoBatchStats auto_batch_stats() const noexcept;
  /// The same client with blocking methods (for threads outside the pool's executor).
  [[nodiscard]] BlockingClient blocking() const;

  explicit Client(std::shared_ptr<detail::ClientImpl> impl) noexcept : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<detail::ClientImpl> impl_;
};

/// Blocking forms of Client's calls. Each call runs the coroutine on the pool's executor and
/// waits for it, so it must never be called from a thread that runs that executor (deadlock).
/// Thread-safe: any number of threads may call at once.
class BlockingClient {
 public:
  explicit BlockingClient(Client client) noexcept : client_(std::move(client)) {}

  Result<std::optional<Document>> get_document(std::string collection, std::string id);
  Result<std::optional<Document>> get_document_at(std::string path);
  Result<WriteResult> create_document(std::string collection, std::string id, Map fields);
  Result<WriteResult> set_document(std::string collection, std::string id, Map fields,
                                   SetOptions options = {});
  Result<WriteResult> update_document(std::string collection, std::string id, Map field_values,
                                      Precondition precondition = Precondition::exists(),
                                      std::vector<std::string> deletes = {});
  Result<void> delete_document(std::string collection, std::string id,
                               Precondition precondition = {});
  Result<WriteResult> transform_document(std::string collection, std::string id,
                                         std::vector<FieldTransform> transforms);
  Result<std::vector<std::optional<Document>>> batch_get(std::vector<std::string> paths);
  Result<std::vector<WriteResult>> commit(std::vector<Write> writes);
  Result<std::vector<Document>> query_documents(std::string collection, std::vector<Filter> filters,
                                                std::vector<OrderBy> order_by = {},
                                                std::optional<std::int32_t> limit = {});
  Result<std::vector<Document>> run_query(Query query);
  Result<AggregationResult> aggregate(Query query, std::vector<Aggregation> aggregations);
  Result<std::int64_t> count(Query query);
  Result<DocumentPage> list_documents(std::string collection, std::int32_t page_size = 0,
                                      std::string page_token = {});
  Result<std::vector<std::string>> list_collection_ids(std::string parent_document = {});
  Result<void> run_transaction(Client::TransactionFunction fn);

  [[nodiscard]] const Client& client() const noexcept { return client_; }

 private:
  Client client_;
};

}  // namespace connpool::firestore
