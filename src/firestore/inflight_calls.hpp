// Private: the RPCs of one client (unary calls, server streams, Listen streams) that gRPC has not
// completed yet, so that closing the client can cancel them and wait for their completions
// (issue 19). A completion arrives on a
// gRPC thread and posts to the caller's executor; once the client is gone its io_context may be
// destroyed too, and a late post into it is a use-after-free ("use of an invalid mutex" under
// TSan). After close_all() returns, no registered call touches an executor again.
//
// Keyed by ClientContext address, several entries per key: a call's completion marks its entry
// and removes it only after it has posted, and by then the caller may have resumed, freed that
// context and started its next call with a context at the same address (a coroutine frame
// reused). With one entry per key the new call's add() was lost in the old entry and the old
// completion's end_completion() then erased it: close() saw no call, returned at once, and the
// new call's completion, dropped as abandoned, never resumed its caller (found under TSan, where
// gRPC's threads are slow: ClientCloseTest.CloseCancelsACallInFlightThenTheIoContextCanGo).
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
    const auto it = find_locked(ctx, false);
    if (abandoned_) {
      if (it != calls_.end()) calls_.erase(it);
      cv_.notify_all();
      return false;
    }
    // From here the caller's coroutine may resume and destroy ctx: close_all() must not
    // cancel it any more.
    if (it != calls_.end()) it->second.completing = true;
    return true;
  }

  /// After the completion posted to the executor.
  void end_completion(grpc::ClientContext* ctx) {
    std::lock_guard lock(mu_);
    // Only a completing entry: a live one under the same address is the caller's next call.
    if (const auto it = find_locked(ctx, true); it != calls_.end()) calls_.erase(it);
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
      auto it = find_locked(ctx, false);
      if (it == calls_.end()) continue;
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
  using Calls = std::unordered_multimap<grpc::ClientContext*, Entry>;
  // The entry of `ctx` in the given state. At most one live (not completing) entry per address:
  // a context serves one call at a time.
  Calls::iterator find_locked(grpc::ClientContext* ctx, bool completing) {
    auto [first, last] = calls_.equal_range(ctx);
    for (; first != last; ++first) {
      if (first->second.completing == completing) return first;
    }
    return calls_.end();
  }
  Calls calls_;
  bool closed_ = false;
  bool abandoned_ = false;
};

}  // namespace connpool::firestore::detail
