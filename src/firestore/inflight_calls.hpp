// Private: the RPCs of one client (unary calls, server streams, Listen streams) that gRPC has not
// completed yet, so that closing the client can cancel them and wait for their completions
// (issue 19). A completion arrives on a
// gRPC thread and posts to the caller's executor; once the client is gone its io_context may be
// destroyed too, and a late post into it is a use-after-free ("use of an invalid mutex" under
// TSan). After close_all() returns, no registered call touches an executor again.
#pragma once

#include <grpcpp/client_context.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace connpool::firestore::detail {

class InFlightCalls {
 public:
  /// Before the call starts. False after close_all(): the call must not start (nothing is
  /// registered then). `cancel` stops the call (default: ctx->TryCancel()); a stream passes its
  /// own, which also releases a read-ahead hold (gRPC runs OnDone only once no hold is left).
  bool add(grpc::ClientContext* ctx, std::function<void()> cancel = {}) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    calls_.emplace(ctx, Entry{false, std::move(cancel)});
    return true;
  }

  /// From the completion callback, before it touches the caller's executor. False: the client
  /// was closed and gave up waiting for this call, so the executor may be gone; the caller must
  /// then leave its handler (and the executor's work guard) untouched.
  bool begin_completion(grpc::ClientContext* ctx) {
    std::lock_guard lock(mu_);
    if (abandoned_) {
      calls_.erase(ctx);
      cv_.notify_all();
      return false;
    }
    // From here the caller's coroutine may resume and destroy ctx: close_all() must not
    // cancel it any more.
    calls_[ctx].completing = true;
    return true;
  }

  /// After the completion posted to the executor.
  void end_completion(grpc::ClientContext* ctx) {
    std::lock_guard lock(mu_);
    calls_.erase(ctx);
    // Only close_all() waits, and only after setting closed_ under this lock: no wake-up (and
    // no lock of the condition variable's own mutex) on every call of a client in use.
    if (closed_) cv_.notify_all();
  }

  /// Cancels every call and waits up to `bound` for their completions. Calls still running after
  /// that are abandoned (their completions touch nothing; their coroutine frames leak). Returns
  /// how many were abandoned. Blocks: call it from a thread that no completion depends on (the
  /// completions only post, so any thread, io threads included, will do).
  std::size_t close_all(std::chrono::milliseconds bound) {
    std::unique_lock lock(mu_);
    closed_ = true;
    // A snapshot: a completion run inline by TryCancel() changes calls_.
    std::vector<grpc::ClientContext*> running;
    for (const auto& [ctx, entry] : calls_) {
      if (!entry.completing) running.push_back(ctx);
    }
    for (auto* ctx : running) {
      // Under the lock: a completion cannot mark the call (and let ctx be destroyed) meanwhile.
      auto it = calls_.find(ctx);
      if (it == calls_.end() || it->second.completing) continue;
      if (it->second.cancel) {
        // A copy: an OnDone run inline by the cancel erases the entry.
        auto cancel = it->second.cancel;
        cancel();
      } else {
        ctx->TryCancel();
      }
    }
    cv_.wait_for(lock, bound, [this] { return calls_.empty(); });
    std::size_t abandoned = 0;
    for (const auto& [ctx, entry] : calls_) abandoned += entry.completing ? 0 : 1;
    abandoned_ = true;
    // Completions already posting finish quickly (a post never waits for the executor).
    cv_.wait(lock, [this] {
      for (const auto& [ctx, entry] : calls_) {
        if (entry.completing) return false;
      }
      return true;
    });
    return abandoned;
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  // Recursive: TryCancel() may run a completion callback inline on this thread.
  mutable std::recursive_mutex mu_;
  std::condition_variable_any cv_;
  struct Entry {
    bool completing = false;  // the completion is posting: ctx may be gone any moment
    std::function<void()> cancel;
  };
  std::unordered_map<grpc::ClientContext*, Entry> calls_;
  bool closed_ = false;
  bool abandoned_ = false;
};

}  // namespace connpool::firestore::detail
