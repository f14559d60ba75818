// Private: bridges gRPC's callback API onto Asio awaitables.
//
// Why the callback API: a completion arrives on one of gRPC's own threads, which only posts the
// result to the awaiting coroutine's executor. No io_context thread ever blocks on gRPC and no
// extra polling thread is needed. Cancellation: an Asio per-operation cancellation signal on the
// awaiting coroutine calls ClientContext::TryCancel(), and the call completes with CANCELLED.
#pragma once

#include "inflight_calls.hpp"
#include "proto_arena.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace connpool::firestore::detail {

/// Runs `start(done)` where `done` is a std::function<void(grpc::Status)> to hand to a
/// stub->async()->Method(ctx, req, resp, done) call, and resumes when gRPC calls it.
/// `ctx` must stay alive until the returned awaitable completes (it does: the caller owns it).
/// `calls` (may be null) tracks the call until its completion has posted, for close.
template <class Start>
boost::asio::awaitable<grpc::Status> async_unary(grpc::ClientContext& ctx, Start start,
                                                 std::shared_ptr<InFlightCalls> calls = nullptr) {
  auto initiation = [&ctx, calls = std::move(calls)](auto handler, Start start_fn) {
    using Handler = decltype(handler);
    struct Op {
      Op(Handler&& h, std::shared_ptr<InFlightCalls> c, grpc::ClientContext* x)
          : handler(std::move(h)),
            work(boost::asio::make_work_guard(handler)),
            calls(std::move(c)),
            ctx(x) {}
      Handler handler;
      decltype(boost::asio::make_work_guard(std::declval<Handler&>())) work;
      std::shared_ptr<InFlightCalls> calls;
      grpc::ClientContext* ctx;
    };
    auto op = std::make_unique<Op>(std::move(handler), calls, &ctx);
    auto slot = boost::asio::get_associated_cancellation_slot(op->handler);
    if (slot.is_connected()) {
      slot.assign([&ctx](boost::asio::cancellation_type type) {
        if (type != boost::asio::cancellation_type::none) ctx.TryCancel();
      });
    }
    // Runs on the caller's executor: clear the cancellation hook, then resume the caller.
    auto resume = [](std::unique_ptr<Op> o, grpc::Status status) {
      auto s = boost::asio::get_associated_cancellation_slot(o->handler);
      if (s.is_connected()) s.clear();
      auto h = std::move(o->handler);
      o.reset();  // releases the work guard
      std::move(h)(std::move(status));
    };
    if (calls && !calls->add(&ctx)) {
      // The client is closed: fail at once rather than start a call nobody will wait for.
      auto ex = op->work.get_executor();
      boost::asio::post(ex, [op = std::move(op), resume]() mutable {
        resume(std::move(op),
               grpc::Status(grpc::StatusCode::CANCELLED, "the firestore client is closed"));
      });
      return;
    }
    // gRPC keeps the callback in a std::function: a lone raw pointer fits in its inline storage
    // (a capture of shared_ptrs cost a heap allocation per call). The callback owns the Op.
    start_fn([raw = op.release(), resume](grpc::Status status) {
      std::unique_ptr<Op> o(raw);
      const auto calls = o->calls;
      grpc::ClientContext* const ctx_ptr = o->ctx;
      if (calls && !calls->begin_completion(ctx_ptr)) {
        // The client was closed and stopped waiting: the executor may be destroyed, so neither
        // post nor release the work guard. The frame leaks; close_all() counted it.
        (void)o.release();  // NOLINT: deliberate leak
        return;
      }
      // On a gRPC thread: only hop to the coroutine's executor.
      auto ex = o->work.get_executor();
      boost::asio::post(ex, [o = std::move(o), status = std::move(status), resume]() mutable {
        resume(std::move(o), std::move(status));
      });
      if (calls) calls->end_completion(ctx_ptr);
    });
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(grpc::Status)>(
      std::move(initiation), boost::asio::use_awaitable, std::move(start));
}

/// The messages of a server-streaming call read to its end, parsed into one protobuf arena:
/// a message's strings, maps and sub-messages come out of a few arena blocks instead of a malloc
/// each, and are freed together (malloc/free were ~15 % of a 10-document query's CPU). Movable.
///
/// A collector for CollectReactor: `Message`, make() (an empty message for gRPC to read into,
/// alive until the collector goes) and push() (a message read, in order). run_query has its own
/// (client_query.cpp), which keeps only the documents.
template <class Resp>
class Collected {
 public:
  using Message = Resp;

  // A few KB per result (a 10-document query): one or two blocks.
  Collected() : arena_(make_proto_arena(4096, 64 * 1024)) {}

  /// A new empty message on the arena, for gRPC to parse into.
  Resp* make() {
    std::unique_ptr<Resp> heap;
    Resp* m = create_message(arena_.get(), heap);
    if (heap) heap_.push_back(std::move(heap));
    return m;
  }
  void push(Resp* message) { messages_.push_back(message); }
  /// In the order received; valid while this object lives.
  const std::vector<Resp*>& messages() const noexcept { return messages_; }

 private:
  std::unique_ptr<google::protobuf::Arena> arena_;  // a pointer: moving keeps the messages put
  std::vector<std::unique_ptr<Resp>> heap_;         // the messages when arenas are off
  std::vector<Resp*> messages_;
};

/// A server-streaming call read to its end on gRPC's own threads: every message is handed to
/// `out` (a collector, see Collected), and `done(status)` runs once, from OnDone. Why: a caller
/// that wants the whole result (run_query) then pays one hop to its executor per call instead of
/// one per message (a 10-document query made 11 hops through StreamCall; issue 19, CPU per
/// operation). Heap-allocated by async_collect; deletes itself in OnDone, gRPC's last callback.
///
/// A read that fails without the call ending (gRPC's report of a message that does not parse)
/// leaves the call to its deadline: the call's own deadline bounds it, as for unary calls.
template <class Out, class Done>
class CollectReactor final : public grpc::ClientReadReactor<typename Out::Message> {
 public:
  using Resp = typename Out::Message;

  CollectReactor(Out& out, Done done) : out_(out), done_(std::move(done)), buf_(out.make()) {}

  /// After the stub's async()->Method(ctx, req, this).
  void start() {
    this->StartRead(buf_);
    this->StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended (or broke): OnDone follows
    out_.push(buf_);
    buf_ = out_.make();
    this->StartRead(buf_);
  }

  void OnDone(const grpc::Status& s) override {
    auto done = std::move(done_);
    grpc::Status status = s;
    delete this;  // nothing of gRPC's touches the reactor after OnDone
    done(std::move(status));
  }

 private:
  Out& out_;
  Done done_;
  Resp* buf_;  // owned by out_
};

/// Runs a server-streaming call to its end and resumes once with its status; the messages are in
/// `out` (a collector owned by the caller, like `ctx`). `start(reactor)` must call
/// stub->async()->Method(&ctx, &request, reactor). Cancellation and `calls` as async_unary.
template <class Out, class Start>
boost::asio::awaitable<grpc::Status> async_collect(grpc::ClientContext& ctx, Out& out, Start start,
                                                   std::shared_ptr<InFlightCalls> calls = nullptr) {
  using Resp = typename Out::Message;
  return async_unary(
      ctx,
      [&out, start = std::move(start)](auto done) mutable {
        auto* reactor = new CollectReactor<Out, decltype(done)>(out, std::move(done));
        start(static_cast<grpc::ClientReadReactor<Resp>*>(reactor));
        reactor->start();
      },
      std::move(calls));
}

/// A one-shot wake-up a coroutine can await while a gRPC thread signals it. Thread-safe.
class Signal {
 public:
  /// Completes when signal() was called since the last wait (at once if it already was).
  /// `on_cancel` runs when the awaiting coroutine is cancelled.
  boost::asio::awaitable<void> wait(std::function<void()> on_cancel) {
    auto initiation = [this, on_cancel = std::move(on_cancel)](auto handler) mutable {
      using Handler = decltype(handler);
      struct Op {
        explicit Op(Handler&& h)
            : handler(std::move(h)), work(boost::asio::make_work_guard(handler)) {}
        Handler handler;
        decltype(boost::asio::make_work_guard(std::declval<Handler&>())) work;
      };
      auto op = std::make_shared<Op>(std::move(handler));
      auto slot = boost::asio::get_associated_cancellation_slot(op->handler);
      if (slot.is_connected()) {
        slot.assign([on_cancel](boost::asio::cancellation_type type) {
          if (type != boost::asio::cancellation_type::none) on_cancel();
        });
      }
      auto complete = [op]() {
        auto ex = op->work.get_executor();
        boost::asio::post(ex, [op]() mutable {
          auto s = boost::asio::get_associated_cancellation_slot(op->handler);
          if (s.is_connected()) s.clear();
          auto h = std::move(op->handler);
          op->work.reset();
          std::move(h)();
        });
      };
      std::unique_lock lock(mu_);
      if (pending_) {
        pending_ = false;
        lock.unlock();
        complete();
      } else {
        waiter_ = std::move(complete);
      }
    };
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
        std::move(initiation), boost::asio::use_awaitable);
  }

  void signal() {
    std::function<void()> w;
    {
      std::lock_guard lock(mu_);
      if (waiter_) {
        w = std::move(waiter_);
        waiter_ = nullptr;
      } else {
        pending_ = true;
      }
    }
    if (w) w();
  }

 private:
  std::mutex mu_;
  bool pending_ = false;
  std::function<void()> waiter_;
};

/// The read side of a streaming call, shared by StreamCall and the Listen stream: the messages
/// gRPC's reactor callbacks deliver, a small read-ahead, and the final status. The reactor calls
/// on_read() / on_done() from gRPC's threads; one coroutine reads with next(). Thread-safe.
///
/// A failed read does not always end the call: gRPC's C++ layer reports a message that does not
/// parse (seen from the emulator when it writes two result sets into one Listen stream at once)
/// as a failed read and leaves the call open, so OnDone never comes. next() therefore gives the
/// status kStatusGrace to arrive after a failed read and then cancels the call, which ends it.
/// Cancelling at once could replace a real final status (a server error) with CANCELLED.
///
/// Read-ahead pauses hold the call (AddHold, taken inside OnReadDone): the reader restarts
/// reading from outside gRPC's reactions, which is only safe while gRPC cannot have run OnDone
/// and freed the call. Without the hold, a call that ended while paused was freed and the
/// reader's StartRead wrote into freed memory (crashes and stalls under stream resets, issue
/// 19). The hold is released right after the restarted read, or by release_pause() on cancel.
/// Once cancelled, reads never pause again: a hold taken then would keep OnDone (and whoever
/// waits for it, such as Client::close) waiting for a reader that may never come back.
///
/// The call can be tracked in the client's InFlightCalls (track()), so Client::close cancels it
/// and waits for its end; the final status is then only handed over while the client still
/// waits (after it gave up, the executor may be gone).
template <class Resp>
class ReadQueue {
 public:
  static constexpr std::size_t kReadAhead = 16;
  static constexpr std::chrono::milliseconds kStatusGrace{1000};

  /// From OnReadDone: keeps `buf` when `ok`. True when the reactor must StartRead again now;
  /// when the read-ahead is full, calls `add_hold()` (the reactor's AddHold) and pauses.
  template <class AddHold>
  bool on_read(bool ok, Resp& buf, AddHold add_hold) {
    bool again = false;
    {
      std::lock_guard lock(mu_);
      if (ok) {
        queue_.push_back(std::move(buf));
        buf.Clear();
        // Read ahead a little; beyond that, HTTP/2 flow control holds the server back.
        again = queue_.size() < kReadAhead;
        if (!again && !cancelled_) {
          add_hold();
          paused_ = true;
        }
      } else {
        read_finished_ = true;
      }
    }
    signal_.signal();
    return again;
  }

  /// After cancelling: a paused read-ahead will not be restarted; `remove_hold()` lets the call
  /// end.
  template <class RemoveHold>
  void release_pause(RemoveHold remove_hold) {
    bool release = false;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      release = std::exchange(paused_, false);
    }
    if (release) remove_hold();
  }

  /// Before the call starts: registers it with `calls` (may be null), `cancel` being the
  /// reactor's cancel(). False: the client is closed; do not start the call.
  bool track(std::shared_ptr<InFlightCalls> calls, grpc::ClientContext* ctx,
             std::function<void()> cancel) {
    if (calls && !calls->add(ctx, std::move(cancel))) return false;
    calls_ = std::move(calls);
    ctx_ = ctx;
    return true;
  }

  /// From OnDone.
  void on_done(const grpc::Status& s) {
    // A closed client that stopped waiting for this call: its executor may be gone, so the
    // reader is never woken (its coroutine frame leaks; Client::close counted it).
    if (calls_ && !calls_->begin_completion(ctx_)) return;
    {
      std::lock_guard lock(mu_);
      status_ = s;
      done_ = true;
    }
    signal_.signal();
    if (calls_) calls_->end_completion(ctx_);
  }

  /// The next message, or nullopt once the call ended (then status() holds its result).
  /// `start_read()` and `remove_hold()` restart reading after a read-ahead pause; `cancel()` must
  /// be ClientContext::TryCancel() (thread-safe), used when the awaiting coroutine is cancelled or
  /// the status does not follow a failed read. The owner must outlive the awaitable.
  template <class StartRead, class RemoveHold, class Cancel>
  boost::asio::awaitable<std::optional<Resp>> next(StartRead start_read, RemoveHold remove_hold,
                                                   Cancel cancel) {
    for (;;) {
      bool resume_read = false;
      bool stuck = false;
      std::optional<Resp> msg;
      {
        std::lock_guard lock(mu_);
        if (!queue_.empty()) {
          msg.emplace(std::move(queue_.front()));
          queue_.pop_front();
          resume_read = std::exchange(paused_, false);
        } else if (done_) {
          co_return std::nullopt;
        } else {
          stuck = read_finished_;
        }
      }
      if (resume_read) {
        start_read();
        remove_hold();  // after StartRead: the call cannot have ended in between
      }
      if (msg) co_return msg;
      if (stuck) {
        // Nothing more can be read and the call has not ended: cancel it unless it ends soon.
        // Destroying the timer does not stop a handler that expiry already queued: it still
        // runs, with success, after this coroutine moved on, maybe after the call is gone (the
        // stall and abort of issue 19: cancel() on a freed call). So the handler only cancels
        // while `grace` is armed, and disarming waits for a cancel() in progress.
        auto armed = std::make_shared<GraceArm>();
        boost::asio::steady_timer grace(co_await boost::asio::this_coro::executor, kStatusGrace);
        grace.async_wait([armed, cancel](const boost::system::error_code& ec) {
          std::lock_guard lock(armed->mu);
          if (!ec && armed->armed) cancel();
        });
        co_await signal_.wait(cancel);
        {
          std::lock_guard lock(armed->mu);
          armed->armed = false;
        }
        continue;
      }
      co_await signal_.wait(cancel);
    }
  }

  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  struct GraceArm {
    std::mutex mu;
    bool armed = true;
  };

  mutable std::mutex mu_;
  std::deque<Resp> queue_;
  bool paused_ = false;  // read-ahead full: no read outstanding, a hold taken
  bool cancelled_ = false;
  bool read_finished_ = false;
  bool done_ = false;
  grpc::Status status_;
  Signal signal_;
  std::shared_ptr<InFlightCalls> calls_;  // set before the call starts
  grpc::ClientContext* ctx_ = nullptr;
};

/// A server-streaming call (RunQuery, BatchGetDocuments, RunAggregationQuery) read one message
/// at a time by a coroutine, with a small read-ahead buffer.
///
/// Lifetime: created through make(); the reactor keeps itself alive until gRPC's final OnDone,
/// so abandoning a stream early (cancel()) is safe.
template <class Resp>
class StreamCall final : public grpc::ClientReadReactor<Resp>,
                         public std::enable_shared_from_this<StreamCall<Resp>> {
 public:
  static std::shared_ptr<StreamCall> make() { return std::shared_ptr<StreamCall>(new StreamCall); }

  grpc::ClientContext& context() noexcept { return ctx_; }

  /// `start(ctx, reactor)` must call stub->async()->Method(ctx, &request, reactor); the request
  /// must outlive the call (keep it next to this object). `calls` (may be null) tracks the call
  /// for Client::close. False: the client is closed and the call was not started.
  template <class Start>
  [[nodiscard]] bool begin(Start start, std::shared_ptr<InFlightCalls> calls) {
    if (!reads_.track(std::move(calls), &ctx_, canceller())) return false;
    self_ = this->shared_from_this();
    start(&ctx_, this);
    this->StartRead(&buf_);
    this->StartCall();
    return true;
  }

  /// The next message, or nullopt once the stream ended (then status() holds the result).
  boost::asio::awaitable<std::optional<Resp>> next() {
    return reads_.next([this] { this->StartRead(&buf_); }, [this] { this->RemoveHold(); },
                       canceller());
  }

  /// The final status; valid once next() returned nullopt.
  grpc::Status status() const { return reads_.status(); }

  /// Stops the call (the server sees a cancellation). Safe to call at any time.
  void cancel() {
    ctx_.TryCancel();
    reads_.release_pause([this] { this->RemoveHold(); });
  }

  void OnReadDone(bool ok) override {
    if (reads_.on_read(ok, buf_, [this] { this->AddHold(); })) this->StartRead(&buf_);
  }

  void OnDone(const grpc::Status& s) override {
    reads_.on_done(s);
    // Last callback: drop the self-reference (the reader may still hold one).
    auto keep = std::move(self_);
  }

 private:
  StreamCall() = default;

  /// cancel() through a weak reference: usable after the reader let go of the call.
  std::function<void()> canceller() {
    return [weak = this->weak_from_this()] {
      if (auto self = weak.lock()) self->cancel();
    };
  }

  grpc::ClientContext ctx_;
  Resp buf_;
  ReadQueue<Resp> reads_;
  std::shared_ptr<StreamCall> self_;
};

}  // namespace connpool::firestore::detail
