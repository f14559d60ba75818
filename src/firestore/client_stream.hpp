// Private: a server-streaming RPC read to the end (RunQuery, BatchGetDocuments,
// RunAggregationQuery), with the same deadline, metadata and retry rules as unary calls. A failed
// stream is retried only when it failed before delivering any message, so nothing is seen twice.
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
  const int max_attempts = policy.idempotent ? opts.retry.max_attempts : 1;
  for (int attempt = 1;; ++attempt) {
    Error err;
    bool delivered = false;
    {
      auto lease = co_await impl->acquire();
      if (!lease) {
        err = std::move(lease).error();
      } else {
        auto& ch = (*lease)->state();
        auto call = StreamCall<Resp>::make();
        prepare_context(call->context(), *impl->shared, deadline, policy.routing,
                        policy.routing_value);
        call->begin([&](grpc::ClientContext* ctx, grpc::ClientReadReactor<Resp>* reactor) {
          start(ch.stub.get(), ctx, &req, reactor);
        });
        while (auto msg = co_await call->next()) {
          delivered = true;
          if (auto r = on_message(*msg); !r) {
            call->cancel();
            co_return r;
          }
        }
        const auto status = call->status();
        if (status.error_code() != grpc::StatusCode::UNAVAILABLE) ch.touch();
        if (status.ok()) co_return ok();
        err = name_deadline(status_to_error(status, policy.rpc), opts.call_timeout);
        if (backend_failure(err.code())) lease->report_failure();  // for the circuit breaker
      }
    }
    const auto wait = impl->backoff(attempt, opts.retry);
    if (delivered || attempt >= max_attempts || !retryable(err.code()) ||
        std::chrono::system_clock::now() + wait >= deadline) {
      if (attempt > 1) err = err.with_context("after " + std::to_string(attempt) + " attempts");
      co_return err;
    }
    co_await ClientImpl::sleep(wait);
  }
}

}  // namespace connpool::firestore::detail
