// Private: the state behind firestore::Client and the call machinery every RPC goes through:
// borrow a channel, set deadline and metadata, bridge the completion, map the status, retry.
#pragma once

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
#include <random>
#include <string>
#include <utility>

namespace connpool::firestore::detail {

using Lease = Client::pool_type::lease_type;

struct ClientImpl : std::enable_shared_from_this<ClientImpl> {
  std::shared_ptr<Client::pool_type> pool;
  std::shared_ptr<const ConnectorShared> shared;

  const FirestoreOptions& options() const noexcept { return shared->options; }
  const std::string& root() const noexcept { return shared->documents_root; }

  /// A channel lease; pool errors that mean "cannot reach the server" become errc::unavailable.
  boost::asio::awaitable<Result<Lease>> acquire();

  /// The wait before retry number `retry` (1-based), with jitter.
  std::chrono::milliseconds backoff(int retry, const RetryPolicy& policy);

  /// Waits `d` on the current coroutine's executor (cancellable).
  static boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);

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

  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};

  /// Open listeners on this pool (capped by FirestoreOptions::max_listeners; listen/listener.cpp).
  std::atomic<std::size_t> open_listeners{0};
};

// Calls shared between the client's translation units.
Task<std::vector<WriteResult>> commit_writes(std::shared_ptr<ClientImpl> impl,
                                             std::vector<Write> writes, std::string transaction);
Task<std::optional<Document>> get_document_by_path(std::shared_ptr<ClientImpl> impl,
                                                   std::string path, std::string transaction);
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

/// One unary RPC with deadline, metadata, retries. `invoke(stub, ctx, req, resp, done)` starts
/// the callback-API call, e.g. stub->async()->GetDocument(ctx, req, resp, std::move(done)).
template <class Resp, class Req, class Invoke>
boost::asio::awaitable<Result<Resp>> unary_call(std::shared_ptr<ClientImpl> impl, CallPolicy policy,
                                                const Req& req, Invoke invoke) {
  const auto& opts = impl->options();
  const auto deadline = std::chrono::system_clock::now() + opts.call_timeout;
  const int max_attempts = policy.idempotent ? opts.retry.max_attempts : 1;
  for (int attempt = 1;; ++attempt) {
    Error err;
    {
      auto lease = co_await impl->acquire();
      if (!lease) {
        err = std::move(lease).error();
      } else {
        auto& ch = (*lease)->state();
        grpc::ClientContext ctx;
        prepare_context(ctx, *impl->shared, deadline, policy.routing, policy.routing_value);
        Resp resp;
        auto status = co_await async_unary(
            ctx, [&](auto done) { invoke(ch.stub.get(), &ctx, &req, &resp, std::move(done)); });
        if (status.error_code() != grpc::StatusCode::UNAVAILABLE) ch.touch();
        if (status.ok()) co_return resp;
        err = name_deadline(status_to_error(status, policy.rpc), opts.call_timeout);
        if (backend_failure(err.code())) lease->report_failure();  // for the circuit breaker
      }
    }  // the lease goes back before any backoff wait
    const auto wait = impl->backoff(attempt, opts.retry);
    if (attempt >= max_attempts || !retryable(err.code()) ||
        std::chrono::system_clock::now() + wait >= deadline) {
      if (attempt > 1) {
        err = err.with_context("after " + std::to_string(attempt) + " attempts");
      }
      co_return err;
    }
    co_await ClientImpl::sleep(wait);
  }
}

}  // namespace connpool::firestore::detail
