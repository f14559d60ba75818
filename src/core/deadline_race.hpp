// DeadlineRace: wait for an operation that runs on another executor, but not past a deadline,
// without ever cancelling it. The pool's connects and health checks go through it.
//
// Why not `co_await (op() || timer.async_wait(...))`: awaitable_operators and parallel_group
// emit an Asio cancellation signal into the loser from the thread on which the winner
// completed. When the operation lives on another strand (a Redis connection's), that emit races
// the operation's own completion freeing its cancellation handler: a use-after-free under a
// multi-threaded io_context (issue 14, docs/adr/0001-async-model.md). Here nobody is cancelled:
// the operation enforces its own deadline on its own strand, this timer only stops *waiting*,
// and whatever arrives after that (a late connection) is dropped, which closes it.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace connpool::core::detail {

/// One race between an operation and a timer. Everything after the start is serialized on the
/// race's own strand: the timer, the operation's result, and what is parked until it ends.
template <class T>
class DeadlineRace : public std::enable_shared_from_this<DeadlineRace<T>> {
 public:
  using Outcome = std::optional<T>;  // nullopt: the timer won

  explicit DeadlineRace(const boost::asio::any_io_executor& executor)
      : executor_(executor), strand_(boost::asio::make_strand(executor)), timer_(strand_) {}

  /// Spawns `op` on the executor given to the constructor and completes with its result, or
  /// with nullopt once `limit` has passed. `on_exception` turns an exception thrown by `op` into
  /// a T. `keepalive` is held until `op` ends (what `op` refers to: the engine, its connector).
  /// Call once.
  boost::asio::awaitable<Outcome> run(boost::asio::awaitable<T> op, std::chrono::nanoseconds limit,
                                      std::function<T(const std::exception&)> on_exception,
                                      std::shared_ptr<void> keepalive) {
    auto self = this->shared_from_this();
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(Outcome)>(
        [self, limit, keepalive = std::move(keepalive)](auto handler, boost::asio::awaitable<T> op,
                                                        auto on_exception) mutable {
          // This initiation object lives in the awaiting coroutine's frame, and that frame is
          // destroyed as soon as the waiter resumes, possibly on another io thread. So the
          // initiation does one thing, last: it moves everything into one post and touches
          // nothing after it. Arming the timer here (as it once did) let a timer that fired
          // before the operation was posted resume the waiter and free `self` and `keepalive`
          // while this thread was still reading them: a use-after-free that showed as a hang
          // in drive() under TSan (issue 14).
          auto race = std::move(self);
          auto strand = race->strand_;
          boost::asio::post(strand,
                            [race = std::move(race), limit, keepalive = std::move(keepalive),
                             handler = Handler(std::move(handler)), op = std::move(op),
                             on_exception = std::move(on_exception)]() mutable {
                              race->start(std::move(handler), limit, std::move(op),
                                          std::move(on_exception), std::move(keepalive));
                            });
        },
        boost::asio::use_awaitable, std::move(op), std::move(on_exception));
  }

  /// Keeps `thing` alive until the operation has ended (dropped at once if it already has). The
  /// pool parks a connection here whose validation lost the race: the connector may still be
  /// using it, so it is closed only when the validation returns.
  void keep_until_done(std::shared_ptr<void> thing) {
    boost::asio::post(strand_, [self = this->shared_from_this(), thing = std::move(thing)]() {
      if (!self->op_done_) self->parked_.push_back(thing);
    });
  }

 private:
  // Held by the timer's handler and by the operation's driver, the two things that can call
  // settle(). If the io_context is shut down with both still pending (stopped, then destroyed),
  // neither runs, and the waiter's handler kept in handler_ would keep the awaiting coroutine
  // alive, which (in the pool) holds this race and the engine: a cycle that nothing breaks, so
  // the engine, its connections and the coroutine frames leaked (LeakSanitizer). The last copy
  // to go drops the handler, which lets Asio destroy the waiter's frames as it does those of
  // any abandoned operation. In every other case settle() has already run, on the strand, and
  // this runs on the strand too (it is the end of the second of those two handlers).
  struct AbandonGuard {
    explicit AbandonGuard(std::shared_ptr<DeadlineRace> r) : race(std::move(r)) {}
    AbandonGuard(const AbandonGuard&) = delete;
    AbandonGuard& operator=(const AbandonGuard&) = delete;
    ~AbandonGuard() { race->handler_.reset(); }
    std::shared_ptr<DeadlineRace> race;
  };

  using Handler = boost::asio::any_completion_handler<void(Outcome)>;

  // On the strand, so the timer, its handler, the operation's result and the waiter are only
  // ever touched there: neither the timer nor the operation can complete before this returns.
  void start(Handler handler, std::chrono::nanoseconds limit, boost::asio::awaitable<T> op,
             std::function<T(const std::exception&)> on_exception,
             std::shared_ptr<void> keepalive) {
    auto self = this->shared_from_this();
    handler_.emplace(std::move(handler));
    auto abandon = std::make_shared<AbandonGuard>(self);
    timer_.expires_after(limit);
    timer_.async_wait([self, abandon](boost::system::error_code ec) {
      if (!ec) self->settle(std::nullopt);
    });
    // Posted, not co_spawned here: co_spawn onto an io_context executor from one of its threads
    // would start `op` inline, inside this strand.
    boost::asio::post(executor_,
                      [self, op = std::move(op), on_exception = std::move(on_exception),
                       keepalive = std::move(keepalive), abandon = std::move(abandon)]() mutable {
                        boost::asio::co_spawn(self->executor_,
                                              drive(self, std::move(op), std::move(on_exception),
                                                    std::move(keepalive), std::move(abandon)),
                                              boost::asio::detached);
                      });
  }

  static boost::asio::awaitable<void> drive(std::shared_ptr<DeadlineRace> self,
                                            boost::asio::awaitable<T> op,
                                            std::function<T(const std::exception&)> on_exception,
                                            std::shared_ptr<void> keepalive,
                                            std::shared_ptr<AbandonGuard> abandon) {
    std::optional<T> result;
    try {
      T value = co_await std::move(op);
      result.emplace(std::move(value));
    } catch (const std::exception& e) {
      result.emplace(on_exception(e));
    }
    boost::asio::post(
        self->strand_, [self, r = std::move(*result), abandon = std::move(abandon)]() mutable {
          self->op_done_ = true;
          self->parked_.clear();
          self->timer_.cancel();       // on the timer's own strand
          self->settle(std::move(r));  // a late result is dropped here (a late connection closes)
        });
    keepalive.reset();
  }

  // On the strand. The first outcome completes the waiter; later ones are dropped.
  void settle(Outcome outcome) {
    if (!handler_) return;
    auto handler = std::move(*handler_);
    handler_.reset();
    // Out of this strand first (the waiter must not run inside it), then onto the waiter's
    // own executor, as Engine::run() completes acquirers.
    boost::asio::post(executor_, [h = std::move(handler), o = std::move(outcome)]() mutable {
      auto ex = boost::asio::get_associated_executor(h);
      boost::asio::dispatch(
          ex, [h = std::move(h), o = std::move(o)]() mutable { std::move(h)(std::move(o)); });
    });
  }

  boost::asio::any_io_executor executor_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;
  std::optional<boost::asio::any_completion_handler<void(Outcome)>> handler_;
  bool op_done_ = false;                       // strand only
  std::vector<std::shared_ptr<void>> parked_;  // strand only
};

}  // namespace connpool::core::detail
