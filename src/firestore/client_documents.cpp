// Client: creation, channel leases, retries' backoff, and the single-document and batch calls.
#include "connpool/firestore/path.hpp"

#include "batch/auto_batch.hpp"
#include "client_impl.hpp"
#include "client_stream.hpp"
#include "convert.hpp"
#include "proto_arena.hpp"
#include "wire_serialization.hpp"

#include <algorithm>

namespace connpool::firestore {

namespace detail {

boost::asio::awaitable<Result<Lease>> ClientImpl::acquire() {
  return acquire(std::chrono::steady_clock::now() + options().call_timeout);
}

namespace {
// The pool has no channel yet and is still trying to open one (or just failed to): the server
// has not answered its first connection, which a cold emulator or a slow network can take longer
// than the pool's acquire_timeout to do.
bool first_connect_pending(const core::PoolStats& stats) {
  return stats.total == 0 && (stats.connecting > 0 || stats.last_connect_error.has_value());
}
}  // namespace

boost::asio::awaitable<Result<Lease>> ClientImpl::acquire(
    std::chrono::steady_clock::time_point deadline) {
  using std::chrono::milliseconds;
  const auto acquire_timeout = pool->config().acquire_timeout;
  for (;;) {
    // One pool wait, never past the call's own deadline (a wait that ends after it would only
    // hand the RPC a deadline already spent).
    const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    // Not a ?: of two co_awaits: GCC 12 miscompiles co_await inside a conditional expression.
    Result<Lease> lease = Error(errc::internal, "not acquired");
    if (left < acquire_timeout) {
      lease = co_await pool->acquire(std::max(milliseconds(1), left));
    } else {
      lease = co_await pool->acquire();
    }
    if (lease) co_return std::move(*lease);
    const auto code = lease.error().code();
    // acquire_timeout 0 ("never wait") is honoured: no loop then.
    if (code == errc::acquire_timeout && acquire_timeout.count() > 0 &&
        first_connect_pending(pool->stats()) && std::chrono::steady_clock::now() < deadline) {
      // The first connection is being established and the call still has time: wait for it
      // rather than fail an operation the server would have served (issue 14). The pool keeps
      // reconnecting on its own backoff meanwhile; each loop is one acquire_timeout wait.
      continue;
    }
    // A wait that timed out while no channel could be opened at all is the server being
    // unreachable, not the pool being too small.
    const bool never_connected = code == errc::acquire_timeout && [&] {
      const auto stats = pool->stats();
      return stats.total == 0 && stats.last_connect_error.has_value();
    }();
    if (code == errc::connect_failed || code == errc::connect_timeout ||
        code == errc::circuit_open || never_connected) {
      // The caller asked Firestore for something and Firestore cannot be reached: say so with
      // the code a gRPC caller would get, keeping the pool's explanation.
      co_return Error(errc::unavailable, "firestore unavailable at " + shared->target + ": " +
                                             lease.error().to_string());
    }
    co_return std::move(lease).error();
  }
}

core::BackoffPolicy backoff_policy(const RetryPolicy& p) {
  core::BackoffPolicy b;
  const double j = std::clamp(p.jitter, 0.0, 1.0);
  const auto widen = [j](std::chrono::milliseconds d) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(
        static_cast<double>(std::chrono::nanoseconds(d).count()) * (1.0 + j)));
  };
  // The core wants a positive initial wait; Firestore allows 0 ("retry at once").
  b.initial =
      std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds(1), widen(p.initial_backoff));
  b.max = std::max(b.initial, widen(p.max_backoff));
  b.multiplier = std::max(1.0, p.multiplier);
  b.jitter = 2.0 * j / (1.0 + j);
  return b;
}

core::RetryBudget ClientImpl::retry_budget(const RetryPolicy& policy, bool idempotent,
                                           std::chrono::milliseconds timeout) {
  core::RetryLimits limits;
  limits.max_attempts = idempotent ? static_cast<std::size_t>(std::max(1, policy.max_attempts)) : 1;
  limits.deadline = std::chrono::steady_clock::now() + timeout;
  return core::RetryBudget(core::Backoff(backoff_policy(policy)), limits);
}

namespace {

WriteResult write_result_from_proto(const v1::WriteResult& r) {
  WriteResult out;
  out.update_time = timestamp_from_proto(r.update_time());
  for (const auto& v : r.transform_results()) out.transform_results.push_back(from_proto(v));
  return out;
}

/// A response parsed into its own protobuf arena: a document's name, fields and values come out
/// of one block instead of a malloc each (protobuf's parse was ~15 % of a get's mallocs).
template <class Resp>
class ArenaResponse {
 public:
  ArenaResponse()
      : arena_(make_proto_arena(2048)),  // a typical document in one block
        msg_(create_message(arena_.get(), heap_)) {}
  Resp* get() noexcept { return msg_; }
  const Resp& operator*() const noexcept { return *msg_; }

 private:
  std::unique_ptr<google::protobuf::Arena> arena_;  // a pointer: moving keeps msg_ valid
  std::unique_ptr<Resp> heap_;                      // the message when arenas are off
  Resp* msg_;
};

/// unary_call (client_impl.hpp) with the response on an arena.
template <class Resp, class Req, class Invoke>
boost::asio::awaitable<Result<ArenaResponse<Resp>>> arena_unary_call(
    std::shared_ptr<ClientImpl> impl, CallPolicy policy, const Req& req, Invoke invoke) {
  auto run = [&req, invoke, calls = impl->shared->calls](ChannelState& ch, grpc::ClientContext& ctx,
                                                         ArenaResponse<Resp>& resp) {
    return async_unary(
        ctx, [&](auto done) { invoke(ch.stub.get(), &ctx, &req, resp.get(), std::move(done)); },
        calls);
  };
  return retried_call<ArenaResponse<Resp>>(std::move(impl), std::move(policy), std::move(run));
}

Task<std::optional<Document>> get_by_name(std::shared_ptr<ClientImpl> impl, std::string name,
                                          std::string transaction) {
  v1::GetDocumentRequest req;
  req.set_name(name);
  if (!transaction.empty()) req.set_transaction(transaction);
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"GetDocument", Routing::name, std::move(name), true};
  // The reply is parsed straight into our Document (wire_document.hpp): the stub's GetDocument
  // is typed on the protobuf Document, so the same RPC is started as the stub starts it.
  auto run = [&req, calls = impl->shared->calls](ChannelState& ch, grpc::ClientContext& ctx,
                                                 WireDocument& resp) {
    return async_unary(
        ctx,
        [&](auto done) {
          grpc::internal::CallbackUnaryCall<v1::GetDocumentRequest, WireDocument,
                                            google::protobuf::MessageLite, WireDocument>(
              ch.channel.get(), ch.wire->get_document, &ctx, &req, &resp, std::move(done));
        },
        calls);
  };
  auto r = co_await retried_call<WireDocument>(impl, policy, run);
  if (!r) {
    if (r.error().is(errc::not_found)) co_return std::optional<Document>();
    co_return std::move(r).error();
  }
  co_return std::optional<Document>(std::move(r->document));
}

Task<std::optional<Document>> get_impl(std::shared_ptr<ClientImpl> impl, std::string path,
                                       std::string transaction = {}) {
  auto name = document_name(impl->root(), path);
  if (!name) co_return std::move(name).error();
  // Inside a transaction a read locks what it reads: never batched with others' reads.
  if (transaction.empty() && impl->batcher) {
    co_return co_await batched_get(std::move(impl), std::move(*name));
  }
  co_return co_await get_by_name(std::move(impl), std::move(*name), std::move(transaction));
}

Task<std::vector<WriteResult>> commit_impl(std::shared_ptr<ClientImpl> impl,
                                           std::vector<Write> writes, std::string transaction) {
  if (writes.size() > kMaxWritesPerCommit) {
    co_return fail(errc::invalid_argument,
                   "a commit holds at most 500 writes, got " + std::to_string(writes.size()) +
                       " (split it into several batches; they are then not atomic together)");
  }
  // The request on an arena as well: the writes' fields, values and strings in a few blocks.
  auto arena = make_proto_arena(2048);
  std::unique_ptr<v1::CommitRequest> heap_req;
  auto& req = *create_message(arena.get(), heap_req);
  req.set_database(impl->shared->database_name);
  if (!transaction.empty()) req.set_transaction(transaction);
  for (const auto& w : writes) {
    if (auto r = write_to_proto(w, impl->root(), *req.add_writes()); !r) {
      co_return std::move(r).error();
    }
  }
  // Not idempotent in general (transforms, create): never retried automatically.
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"Commit", Routing::database, impl->shared->database_name, false};
  auto r = co_await arena_unary_call<v1::CommitResponse>(
      impl, policy, req, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
        stub->async()->Commit(ctx, rq, rs, std::move(done));
      });
  if (!r) co_return std::move(r).error();
  const v1::CommitResponse& resp = **r;
  std::vector<WriteResult> out;
  out.reserve(static_cast<std::size_t>(resp.write_results_size()));
  for (const auto& wr : resp.write_results()) out.push_back(write_result_from_proto(wr));
  co_return out;
}

Task<WriteResult> commit_one_impl(std::shared_ptr<ClientImpl> impl, Write write) {
  std::vector<Write> writes;
  writes.push_back(std::move(write));
  auto r = co_await commit_impl(std::move(impl), std::move(writes), std::string());
  if (!r) co_return std::move(r).error();
  if (r->empty()) co_return WriteResult{};
  co_return std::move(r->front());
}

/// A create / set / update / delete / transform outside a transaction (its path checked).
Task<WriteResult> single_write(std::shared_ptr<ClientImpl> impl, Result<Write> write) {
  if (!write) co_return std::move(write).error();
  if (impl->batcher) co_return co_await batched_write(std::move(impl), std::move(*write));
  co_return co_await commit_one_impl(std::move(impl), std::move(*write));
}

Task<std::vector<std::optional<Document>>> batch_get_impl(std::shared_ptr<ClientImpl> impl,
                                                          std::vector<std::string> paths) {
  v1::BatchGetDocumentsRequest req;
  req.set_database(impl->shared->database_name);
  std::vector<std::string> names;
  names.reserve(paths.size());
  for (const auto& p : paths) {
    auto name = document_name(impl->root(), p);
    if (!name) co_return std::move(name).error();
    req.add_documents(*name);
    names.push_back(std::move(*name));
  }
  std::vector<std::optional<Document>> out(paths.size());
  if (paths.empty()) co_return out;
  // The server answers in any order and once per distinct name: match by name.
  auto on_message = [&](v1::BatchGetDocumentsResponse& m) -> Result<void> {
    if (m.has_found()) {
      Document d = document_from_proto(m.found());
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == d.name) out[i] = d;
      }
    }
    return ok();
  };
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"BatchGetDocuments", Routing::database, impl->shared->database_name, true};
  auto r = co_await stream_call<v1::BatchGetDocumentsResponse>(
      impl, policy, req,
      [](auto* stub, auto* ctx, auto* rq, auto* reactor) {
        stub->async()->BatchGetDocuments(ctx, rq, reactor);
      },
      on_message);
  if (!r) co_return std::move(r).error();
  co_return out;
}

Result<Write> doc_write(std::string_view collection, std::string_view id) {
  auto path = document_path(collection, id);
  if (!path) return std::move(path).error();
  Write w;
  w.path = std::move(*path);
  return w;
}

}  // namespace

Task<std::vector<WriteResult>> commit_writes(std::shared_ptr<ClientImpl> impl,
                                             std::vector<Write> writes, std::string transaction) {
  return commit_impl(std::move(impl), std::move(writes), std::move(transaction));
}

Task<std::optional<Document>> get_document_by_path(std::shared_ptr<ClientImpl> impl,
                                                   std::string path, std::string transaction) {
  return get_impl(std::move(impl), std::move(path), std::move(transaction));
}

Task<std::optional<Document>> get_document_by_name(std::shared_ptr<ClientImpl> impl,
                                                   std::string name, std::string transaction) {
  return get_by_name(std::move(impl), std::move(name), std::move(transaction));
}

Task<WriteResult> commit_one(std::shared_ptr<ClientImpl> impl, Write write) {
  return commit_one_impl(std::move(impl), std::move(write));
}

Result<WriteResult> batch_write_result(const v1::BatchWriteResponse& resp, std::size_t i,
                                       std::size_t writes) {
  const int at = static_cast<int>(i);
  if (at >= resp.status_size() || at >= resp.write_results_size()) {
    return Error(errc::protocol_error, "firestore BatchWrite: the response has " +
                                           std::to_string(resp.status_size()) + " statuses for " +
                                           std::to_string(writes) + " writes");
  }
  if (const auto& st = resp.status(at); st.code() != 0) {
    return status_to_error(grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message()),
                           "BatchWrite");
  }
  return write_result_from_proto(resp.write_results(at));
}

}  // namespace detail

using detail::ClientImpl;

Result<Client> Client::create(boost::asio::any_io_executor executor, FirestoreOptions options,
                              core::PoolConfig pool_config, core::PoolOptions pool_options) {
  if (auto v = options.validate(); !v) return std::move(v).error();
  if (pool_options.backend.empty() || pool_options.backend == "generic") {
    pool_options.backend = "firestore";
  }
  if (pool_options.target.empty()) pool_options.target = options.target();
  FirestoreConnector connector(std::move(options));
  auto shared = connector.shared();
  auto pool = pool_type::create(std::move(executor), std::move(connector), pool_config,
                                std::move(pool_options));
  if (!pool) return std::move(pool).error();
  auto impl = std::make_shared<ClientImpl>();
  impl->pool = std::make_shared<pool_type>(std::move(*pool));
  if (shared->options.auto_batch.enabled) {
    impl->batcher = std::make_shared<detail::AutoBatcher>(shared->options.auto_batch);
  }
  impl->shared = std::move(shared);
  return Client(std::move(impl));
}

std::size_t Client::close(std::chrono::milliseconds bound) {
  // Listeners first: a listener's driver would otherwise see its stream cancelled and reconnect.
  detail::close_listeners(*impl_);
  const auto abandoned = impl_->shared->calls->close_all(bound);
  impl_->pool->close_now();
  return abandoned;
}

Client::pool_type& Client::pool() const noexcept {
  return *impl_->pool;
}
const FirestoreOptions& Client::options() const noexcept {
  return impl_->options();
}
AutoBatchStats Client::auto_batch_stats() const noexcept {
  return impl_->batcher ? impl_->batcher->stats() : AutoBatchStats{};
}
BlockingClient Client::blocking() const {
  return BlockingClient(*this);
}

Task<std::optional<Document>> Client::get_document(std::string collection, std::string id) {
  auto path = document_path(collection, id);
  if (!path) {
    // Not a coroutine here: return a ready awaitable carrying the error.
    return [](Error e) -> Task<std::optional<Document>> { co_return e; }(std::move(path).error());
  }
  return detail::get_impl(impl_, std::move(*path));
}

Task<std::optional<Document>> Client::get_document_at(std::string path) {
  return detail::get_impl(impl_, std::move(path));
}

Task<WriteResult> Client::create_document(std::string collection, std::string id, Map fields) {
  auto w = detail::doc_write(collection, id);
  if (w) *w = Write::create(std::move(w->path), std::move(fields));
  return detail::single_write(impl_, std::move(w));
}

Task<WriteResult> Client::set_document(std::string collection, std::string id, Map fields,
                                       SetOptions options) {
  auto w = detail::doc_write(collection, id);
  if (w) *w = Write::set(std::move(w->path), std::move(fields), std::move(options));
  return detail::single_write(impl_, std::move(w));
}

Task<WriteResult> Client::update_document(std::string collection, std::string id, Map field_values,
                                          Precondition precondition,
                                          std::vector<std::string> deletes) {
  auto w = detail::doc_write(collection, id);
  if (w) {
    *w = Write::update(std::move(w->path), std::move(field_values), std::move(deletes),
                       precondition);
  }
  return detail::single_write(impl_, std::move(w));
}

Task<void> Client::delete_document(std::string collection, std::string id,
                                   Precondition precondition) {
  auto w = detail::doc_write(collection, id);
  if (w) *w = Write::remove(std::move(w->path), precondition);
  return [](std::shared_ptr<ClientImpl> impl, Result<Write> w) -> Task<void> {
    auto r = co_await detail::single_write(std::move(impl), std::move(w));
    if (!r) co_return std::move(r).error();
    co_return ok();
  }(impl_, std::move(w));
}

Task<WriteResult> Client::transform_document(std::string collection, std::string id,
                                             std::vector<FieldTransform> transforms) {
  auto w = detail::doc_write(collection, id);
  if (w) *w = Write::transform(std::move(w->path), std::move(transforms));
  return detail::single_write(impl_, std::move(w));
}

Task<std::vector<std::optional<Document>>> Client::batch_get(std::vector<std::string> paths) {
  return detail::batch_get_impl(impl_, std::move(paths));
}

Task<std::vector<WriteResult>> Client::commit(std::vector<Write> writes) {
  return detail::commit_impl(impl_, std::move(writes), {});
}

}  // namespace connpool::firestore
