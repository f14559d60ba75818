// Private: the state behind firestore::Client and the call machinery every RPC goes through:
// borrow a channel, set deadline and metadata, bridge the completion, map the status, retry.
#pragma once

#include "connpool/core/retry.hpp"
#include "connpool/firestore/client.hpp"

#include "grpc_internal.hpp"
#include "rpc_bridge.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace connpool::firestore::detail {

using Lease = Client::pool_type::lease_type;
struct ListenerImpl;
struct AutoBatcher;

struct ClientImpl : std::enable_shared_from_this<ClientImpl> {
  std::shared_ptr<Client::pool_type> pool;
  std::shared_ptr<const ConnectorShared> shared;

  /// How long closing waits for gRPC to complete the cancelled calls.
  static constexpr std::chrono::milliseconds kCloseBound{5000};
  /// The last Client is gone: cancel what is still in flight (connect and validation pings the
  /// pool gave up on) and wait for it, so nothing posts to the executor after this.
  ~ClientImpl() { shared->calls->close_all(kCloseBound); }

  const FirestoreOptions& options() const noexcept { return shared->options; }
  const std::string& root() const noexcept { return shared->documents_root; }

  /// A channel lease; pool errors that mean "cannot reach the server" become errc::unavailable.
  /// While the pool's first channel is still being opened, waits for it up to `deadline` (the
  /// call's), not just the pool's acquire_timeout. acquire() uses call_timeout from now.
  boost::asio::awaitable<Result<Lease>> acquire(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<Result<Lease>> acquire();

  /// The retry budget of one call: `policy`'s backoff, its attempts (1 when the call is not
  /// idempotent), no retry whose wait would end after `timeout` from now.
  static core::RetryBudget retry_budget(const RetryPolicy& policy, bool idempotent,
                                        std::chrono::milliseconds timeout);

  Transaction make_transaction(std::string id, int attempt) {
    return Transaction(shared_from_this(), std::move(id), attempt);
  }
  static const std::string& transaction_id(const Transaction& t) noexcept { return t.id_; }
  static std::vector<Write>& transaction_writes(Transaction& t) noexcept { return t.writes_; }
  static const std::optional<Error>& transaction_error(const Transaction& t) noexcept {
    return t.bad_write_;
  }
  static const std::shared_ptr<ClientImpl>& transaction_impl(const Transaction& t) noexcept {
    return t.impl_;
  }

  /// Auto-batching of concurrent gets and writes (batch/auto_batch.hpp); null when it is off.
  std::shared_ptr<AutoBatcher> batcher;

  /// Open listeners on this pool (capped by FirestoreOptions::max_listeners; listen/listener.cpp).
  std::atomic<std::size_t> open_listeners{0};

  /// The listeners started on this client, so that Client::close stops them (listener.cpp).
  std::mutex listeners_mu;
  std::vector<std::weak_ptr<ListenerImpl>> listeners;  // guarded by listeners_mu
  bool closed = false;                                 // guarded by listeners_mu
};

/// Client::close: refuses new listeners and stops the open ones, whose next() then fails with
/// "the client was closed" (listen/listener.cpp). Their streams are tracked in InFlightCalls.
void close_listeners(ClientImpl& impl);

// Calls shared between the client's translation units.
Task<std::vector<WriteResult>> commit_writes(std::shared_ptr<ClientImpl> impl,
                                             std::vector<Write> writes, std::string transaction);
Task<std::optional<Document>> get_document_by_path(std::shared_ptr<ClientImpl> impl,
                                                   std::string path, std::string transaction);
/// One GetDocument RPC for a validated full name ("projects/.../documents/c/d"), never batched.
Task<std::optional<Document>> get_document_by_name(std::shared_ptr<ClientImpl> impl,
                                                   std::string name, std::string transaction);
/// One write as one Commit RPC, never batched.
Task<WriteResult> commit_one(std::shared_ptr<ClientImpl> impl, Write write);
/// Write `i` of a BatchWrite of `writes` writes: its WriteResult, or its own status as an error
/// (mapped as a Commit's status is; the message names BatchWrite).
Result<WriteResult> batch_write_result(const v1::BatchWriteResponse& resp, std::size_t i,
                                       std::size_t writes);
Task<std::vector<Document>> run_query_in(std::shared_ptr<ClientImpl> impl, Query query,
                                         std::string transaction);

/// Codes worth another attempt of an idempotent call.
inline bool retryable(errc code) noexcept {
  return code == errc::unavailable || code == errc::resource_exhausted ||
         code == errc::deadline_exceeded;
}

/// The backend failed the call (unreachable or too slow), as opposed to refusing the request
/// (NOT_FOUND, ALREADY_EXISTS, a bad argument...). The channel stays usable either way; only
/// these count as failures for the circuit breaker.
inline bool backend_failure(errc code) noexcept {
  return code == errc::unavailable || code == errc::deadline_exceeded;
}

/// A DEADLINE_EXCEEDED error that names the deadline the caller configured: gRPC's own text
/// ("Deadline Exceeded") does not say which limit ran out.
inline Error name_deadline(Error err, std::chrono::milliseconds call_timeout) {
  if (!err.is(errc::deadline_exceeded)) return err;
  return Error(err.code(),
               err.message() + " (call_timeout " + core::format_duration(call_timeout) + ")");
}

/// How a call is retried.
struct CallPolicy {
  const char* rpc;
  Routing routing;
  std::string routing_value;
  bool idempotent;
};

/// Firestore's RetryPolicy as the core's BackoffPolicy. Firestore spreads a wait d over
/// [d(1-j), d(1+j)]; the core over [c(1-k), c]: c = d(1+j) and k = 2j/(1+j) give the same range.
core::BackoffPolicy backoff_policy(const RetryPolicy& policy);

/// One call with deadline, metadata and retries on a leased channel. `run(channel, ctx, resp)`
/// starts one attempt (ctx already prepared) and returns the awaitable of its grpc::Status;
/// `resp` is fresh for every attempt: `make()` (by default Resp()).
template <class Resp, class Run, class Make = Resp (*)()>
boost::asio::awaitable<Result<Resp>> retried_call(
    std::shared_ptr<ClientImpl> impl, CallPolicy policy, Run run,
    Make make = [] { return Resp(); }) {
  const auto& opts = impl->options();
  const auto deadline = std::chrono::system_clock::now() + opts.call_timeout;
  const auto steady_deadline = std::chrono::steady_clock::now() + opts.call_timeout;
  auto budget = ClientImpl::retry_budget(opts.retry, policy.idempotent, opts.call_timeout);
  // One attempt; the lease goes back when it ends, before any backoff wait.
  auto attempt = [&]() -> boost::asio::awaitable<Result<Resp>> {
    auto lease = co_await impl->acquire(steady_deadline);
    if (!lease) co_return std::move(lease).error();
    auto& ch = (*lease)->state();
    grpc::ClientContext ctx;
    prepare_context(ctx, *impl->shared, deadline, policy.routing, policy.routing_value);
    Resp resp = make();
    auto status = co_await run(ch, ctx, resp);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) ch.touch();
    if (status.ok()) co_return std::move(resp);
    auto err = name_deadline(status_to_error(status, policy.rpc), opts.call_timeout);
    if (backend_failure(err.code())) lease->report_failure();  // for the circuit breaker
    co_return err;
  };
  co_return co_await core::retry<Resp>(budget, attempt,
                                       [](const Error& e) { return retryable(e.code()); });
}

/// One unary RPC with deadline, metadata, retries. `invoke(stub, ctx, req, resp, done)` starts
/// the callback-API call, e.g. stub->async()->GetDocument(ctx, req, resp, std::move(done)).
/// `req` must outlive the returned awaitable (the caller co_awaits it at once).
template <class Resp, class Req, class Invoke>
boost::asio::awaitable<Result<Resp>> unary_call(std::shared_ptr<ClientImpl> impl, CallPolicy policy,
                                                const Req& req, Invoke invoke) {
  auto run = [&req, invoke, calls = impl->shared->calls](ChannelState& ch, grpc::ClientContext& ctx,
                                                         Resp& resp) {
    return async_unary(
        ctx, [&](auto done) { invoke(ch.stub.get(), &ctx, &req, &resp, std::move(done)); }, calls);
  };
  return retried_call<Resp>(std::move(impl), std::move(policy), std::move(run));
}

/// A server-streaming RPC whose whole result the caller wants (RunQuery, RunAggregationQuery):
/// read to its end on gRPC's threads, then one resumption of the caller (async_collect), with
/// unary_call's deadline and retries. Nothing reaches the caller before the call succeeded, so
/// an idempotent call that broke halfway is retried whole, never seen twice. `Out` collects the
/// messages (Collected<Resp>, or run_query's own); each attempt starts with a fresh one.
/// `start(channel, ctx, req, reactor)` starts it, e.g.
/// channel.stub->async()->RunQuery(ctx, req, reactor). `make()` builds each attempt's collector.
template <class Out, class Req, class Start, class Make = Out (*)()>
boost::asio::awaitable<Result<Out>> collect_call(
    std::shared_ptr<ClientImpl> impl, CallPolicy policy, const Req& req, Start start,
    Make make = [] { return Out(); }) {
  using Resp = typename Out::Message;
  auto run = [&req, start, calls = impl->shared->calls](ChannelState& ch, grpc::ClientContext& ctx,
                                                        Out& out) {
    return async_collect(
        ctx, out,
        [&ch, &ctx, &req, start](grpc::ClientReadReactor<Resp>* reactor) {
          start(ch, &ctx, &req, reactor);
        },
        calls);
  };
  return retried_call<Out>(std::move(impl), std::move(policy), std::move(run), std::move(make));
}

}  // namespace connpool::firestore::detail
