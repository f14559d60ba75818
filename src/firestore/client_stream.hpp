// Private: a server-streaming RPC read to the end (RunQuery, BatchGetDocuments,
// RunAggregationQuery), with the same deadline, metadata and retry rules as unary calls: one
// core::retry loop and one backoff for both. A failed stream is retried only when it failed
// before delivering any message, so nothing is seen twice.
#pragma once

#include "client_impl.hpp"

namespace connpool::firestore::detail {

/// `start(stub, ctx, req, reactor)` starts the call, e.g.
/// stub->async()->RunQuery(ctx, req, reactor). `on_message(Resp&)` returns an error to stop.
template <class Resp, class Req, class Start, class OnMessage>
boost::asio::awaitable<Result<void>> stream_call(std::shared_ptr<ClientImpl> impl,
                                                 CallPolicy policy, const Req& req, Start start,
                                                 OnMessage on_message) {
  const auto& opts = impl->options();
  const auto deadline = std::chrono::system_clock::now() + opts.call_timeout;
  const auto steady_deadline = std::chrono::steady_clock::now() + opts.call_timeout;
  auto budget = ClientImpl::retry_budget(opts.retry, policy.idempotent, opts.call_timeout);
  // Set by an attempt that must not be repeated: a message was handed to on_message, or
  // on_message itself stopped the stream.
  bool final = false;
  // One attempt; the lease goes back when it ends, before any backoff wait.
  auto attempt = [&]() -> boost::asio::awaitable<Result<void>> {
    auto lease = co_await impl->acquire(steady_deadline);
    if (!lease) co_return std::move(lease).error();
    auto& ch = (*lease)->state();
    auto call = StreamCall<Resp>::make();
    prepare_context(call->context(), *impl->shared, deadline, policy.routing, policy.routing_value);
    const bool started = call->begin(
        [&](grpc::ClientContext* ctx, grpc::ClientReadReactor<Resp>* reactor) {
          start(ch.stub.get(), ctx, &req, reactor);
        },
        impl->shared->calls);
    if (!started) co_return Error(errc::cancelled, "the firestore client is closed");
    while (auto msg = co_await call->next()) {
      final = true;
      if (auto r = on_message(*msg); !r) {
        call->cancel();
        co_return r;
      }
    }
    const auto status = call->status();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) ch.touch();
    if (status.ok()) co_return ok();
    auto err = name_deadline(status_to_error(status, policy.rpc), opts.call_timeout);
    if (backend_failure(err.code())) lease->report_failure();  // for the circuit breaker
    co_return err;
  };
  co_return co_await core::retry<void>(
      budget, attempt, [&final](const Error& e) { return !final && retryable(e.code()); });
}

}  // namespace connpool::firestore::detail
