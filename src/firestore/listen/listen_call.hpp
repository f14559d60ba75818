// Private: one Listen stream (bidirectional) read one message at a time by a coroutine.
//
// The request with the target is written once; the write side then stays open (half-closing it
// would end the listen). gRPC's callbacks run on its own threads and only queue and signal;
// the reader resumes on its own executor. cancel() is ClientContext::TryCancel(), thread-safe.
// Lifetime: created through make(); the reactor keeps itself alive until gRPC's final OnDone.
#pragma once

#include "../grpc_internal.hpp"
#include "../rpc_bridge.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace connpool::firestore::detail {

class ListenCall final : public grpc::ClientBidiReactor<v1::ListenRequest, v1::ListenResponse>,
                         public std::enable_shared_from_this<ListenCall> {
 public:
  static std::shared_ptr<ListenCall> make() { return std::shared_ptr<ListenCall>(new ListenCall); }

  grpc::ClientContext& context() noexcept { return ctx_; }

  /// Starts the stream on `stub` and sends `request` (kept here until the write completes).
  void begin(v1::Firestore::Stub* stub, v1::ListenRequest request) {
    request_ = std::move(request);
    self_ = shared_from_this();
    stub->async()->Listen(&ctx_, this);
    StartWrite(&request_);
    reading_ = true;
    StartRead(&buf_);
    StartCall();
  }

  /// The next message, or nullopt once the stream ended (then status() holds the result).
  /// Cancelling the awaiting coroutine cancels the stream.
  boost::asio::awaitable<std::optional<v1::ListenResponse>> next() {
    for (;;) {
      bool resume_read = false;
      std::optional<v1::ListenResponse> msg;
      {
        std::lock_guard lock(mu_);
        if (!queue_.empty()) {
          msg.emplace(std::move(queue_.front()));
          queue_.pop_front();
          if (!reading_ && !read_finished_) {
            reading_ = true;
            resume_read = true;
          }
        } else if (done_) {
          co_return std::nullopt;
        }
      }
      if (resume_read) StartRead(&buf_);
      if (msg) co_return msg;
      co_await signal_.wait([this] { ctx_.TryCancel(); });
    }
  }

  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

  void cancel() { ctx_.TryCancel(); }

  void OnWriteDone(bool /*ok*/) override {}

  void OnReadDone(bool ok) override {
    bool again = false;
    {
      std::lock_guard lock(mu_);
      if (ok) {
        queue_.push_back(std::move(buf_));
        buf_.Clear();
        // Read ahead a little; beyond that HTTP/2 flow control holds the server back.
        again = queue_.size() < kReadAhead;
        reading_ = again;
      } else {
        reading_ = false;
        read_finished_ = true;
      }
    }
    if (again) StartRead(&buf_);
    signal_.signal();
  }

  void OnDone(const grpc::Status& s) override {
    {
      std::lock_guard lock(mu_);
      status_ = s;
      done_ = true;
    }
    signal_.signal();
    auto keep = std::move(self_);  // last callback: drop the self-reference
  }

 private:
  ListenCall() = default;
  static constexpr std::size_t kReadAhead = 16;

  grpc::ClientContext ctx_;
  v1::ListenRequest request_;
  v1::ListenResponse buf_;
  mutable std::mutex mu_;
  std::deque<v1::ListenResponse> queue_;
  bool reading_ = false;
  bool read_finished_ = false;
  bool done_ = false;
  grpc::Status status_;
  Signal signal_;
  std::shared_ptr<ListenCall> self_;
};

}  // namespace connpool::firestore::detail
