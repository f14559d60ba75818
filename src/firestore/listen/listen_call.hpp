// Private: one Listen stream (bidirectional) read one message at a time by a coroutine.
//
// The request with the target is written once; the write side then stays open (half-closing it
// would end the listen). gRPC's callbacks run on its own threads and only queue and signal;
// the reader resumes on its own executor (ReadQueue, shared with StreamCall: it also ends a call
// whose read failed without a status). cancel() is ClientContext::TryCancel(), thread-safe.
// Lifetime: created through make(); the reactor keeps itself alive until gRPC's final OnDone.
// The call is tracked in the client's InFlightCalls, so Client::close cancels it and waits for it.
#pragma once

#include "../grpc_internal.hpp"
#include "../rpc_bridge.hpp"

#include <memory>
#include <optional>

namespace connpool::firestore::detail {

class ListenCall final : public grpc::ClientBidiReactor<v1::ListenRequest, v1::ListenResponse>,
                         public std::enable_shared_from_this<ListenCall> {
 public:
  static std::shared_ptr<ListenCall> make() { return std::shared_ptr<ListenCall>(new ListenCall); }

  grpc::ClientContext& context() noexcept { return ctx_; }

  /// Starts the stream on `stub` and sends `request` (kept here until the write completes).
  /// False: the client is closed (`calls` refused the call) and nothing was started.
  [[nodiscard]] bool begin(v1::Firestore::Stub* stub, v1::ListenRequest request,
                           std::shared_ptr<InFlightCalls> calls) {
    if (!reads_.track(std::move(calls), &ctx_, canceller())) return false;
    request_ = std::move(request);
    self_ = shared_from_this();
    stub->async()->Listen(&ctx_, this);
    StartWrite(&request_);
    StartRead(&buf_);
    StartCall();
    return true;
  }

  /// The next message, or nullopt once the stream ended (then status() holds the result).
  /// Cancelling the awaiting coroutine cancels the stream.
  boost::asio::awaitable<std::optional<v1::ListenResponse>> next() {
    return reads_.next([this] { StartRead(&buf_); }, [this] { RemoveHold(); }, canceller());
  }

  grpc::Status status() const { return reads_.status(); }

  void cancel() {
    ctx_.TryCancel();
    reads_.release_pause([this] { RemoveHold(); });
  }

  void OnWriteDone(bool /*ok*/) override {}

  void OnReadDone(bool ok) override {
    if (reads_.on_read(ok, buf_, [this] { AddHold(); })) StartRead(&buf_);
  }

  void OnDone(const grpc::Status& s) override {
    reads_.on_done(s);
    auto keep = std::move(self_);  // last callback: drop the self-reference
  }

 private:
  ListenCall() = default;

  /// cancel() through a weak reference: a grace timer's handler may outlive the reader's hold.
  std::function<void()> canceller() {
    return [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->cancel();
    };
  }

  grpc::ClientContext ctx_;
  v1::ListenRequest request_;
  v1::ListenResponse buf_;
  ReadQueue<v1::ListenResponse> reads_;
  std::shared_ptr<ListenCall> self_;
};

}  // namespace connpool::firestore::detail
