// The Asio driver behind redis::Connection: it moves bytes between the Link (transport) and
// the Multiplexer (queueing, reply matching, deadlines, cancellation: no I/O), arms one timer
// at the multiplexer's next deadline, and posts completions to each caller's executor (the
// completions of one read in one post per executor). Internal.
#pragma once

#include "connpool/redis/reply.hpp"
#include "connpool/redis/url.hpp"

#include "detail/multiplexer.hpp"
#include "detail/transport.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace connpool::redis::detail {

using ReplyHandler = asio::any_completion_handler<void(Result<std::vector<Reply>>)>;

/// A caller waiting for replies: its handler and the executor it completes on.
struct Waiter {
  asio::any_io_executor executor;
  ReplyHandler handler;
};

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  using Strand = Link::Strand;  // make_io_strand
  using BrokenCallback = std::function<void(const Error&)>;

  ConnectionImpl(Strand strand, RedisUrl url, std::shared_ptr<asio::ssl::context> tls);

  /// Runs on the strand: transport, TLS and AUTH/SELECT/SETNAME, bounded by `deadline`
  /// (enforced on the strand), then starts the reader.
  static asio::awaitable<Result<void>> open(std::shared_ptr<ConnectionImpl> self,
                                            Clock::time_point deadline);

  /// Queues `chunk` (carrying `expected` commands) and completes `handler` with the replies
  /// (a RawResult when `framing` is raw) on `executor`. Thread-safe.
  void submit(Chunk&& chunk, std::size_t expected, Clock::time_point deadline,
              asio::any_io_executor executor, ReplyHandler handler,
              Framing framing = Framing::parsed, std::size_t raw_limit = kNoRawLimit);

  /// Runs the claimed writer now if the strand is free on this thread, else queues it (the
  /// end of a batch of completions whose callers submitted). Thread-safe.
  void run_claimed_writer();

  /// Breaks the connection with `error` (first error wins). Thread-safe.
  void fail(Error error) noexcept;

  /// Calls `callback` once, with the error, when the connection breaks (EOF, I/O or protocol
  /// error, timeout, close): at once if it is already broken. Replaces an earlier callback.
  /// It runs on whichever thread saw the failure and must not block. Thread-safe.
  void on_broken(BrokenCallback callback);

  [[nodiscard]] bool broken() const noexcept { return broken_.load(std::memory_order_acquire); }
  [[nodiscard]] std::optional<Error> error() const;
  [[nodiscard]] std::size_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const RedisUrl& url() const noexcept { return url_; }
  [[nodiscard]] asio::any_io_executor executor() const { return strand_; }
  [[nodiscard]] Clock::time_point deadline_from(std::optional<std::chrono::milliseconds> t) const;

 private:
  using Mux = Multiplexer<Waiter>;

  // The reader: one read at a time, each handler starting the next (strand only).
  void start_read();
  void read_into(std::span<char> direct);  // direct: a large reply's own room, or empty
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void cancel(std::uint64_t id) noexcept;
  // How completions reach their callers' executors. `post` always queues them (a request
  // refused at submit, a cancellation, a close from a lease destructor: never run a caller
  // inside someone else's call). `dispatch` is for the reader on the strand, outside any
  // caller's call: a lone completion then runs its caller at once when its executor allows
  // (the same io thread), as a blocking read returns to its caller; batches are still posted,
  // one post per executor, so many callers do not hold the strand while the reader waits.
  enum class Handoff { post, dispatch };
  // Runs `done` and, when the multiplexer has just failed, marks the connection broken,
  // closes the transport and calls the broken callback. Releases `lock` first.
  void settle(std::unique_lock<std::mutex>& lock, Mux::Completions& done,
              Handoff how = Handoff::post) noexcept;
  static void deliver(Mux::Completions& done, Handoff how = Handoff::post);
  // Strand only. `finished`: a write just completed; it is ended under the same lock that
  // takes the next round.
  void write_round(bool finished);
  std::span<const asio::const_buffer> next_round(bool finished, Mux::Completions& done,
                                                 Clock::time_point& next);
  void on_written(const boost::system::error_code& ec);  // strand only
  // The end of a write round (strand only): releases its buffers; false when it failed.
  bool finish_write(const boost::system::error_code& ec);
  void rearm_timer();                                  // strand only
  void arm_timer(Clock::time_point next);              // strand only: no later than `next`
  void on_timer(const boost::system::error_code& ec);  // strand only

  Strand strand_;
  RedisUrl url_;
  Link link_;                             // strand only
  std::vector<asio::const_buffer> rest_;  // strand only: what write_now() left to async_write
  asio::steady_timer timer_;              // strand only
  Clock::time_point timer_at_ = Clock::time_point::max();  // strand only
  // The read buffer starts small (idle connections are cheap) and doubles while reads fill it.
  std::vector<char> read_buf_;   // strand only
  bool reading_direct_ = false;  // strand only: the read in flight fills a reply's own string

  mutable std::mutex mu_;
  Mux mux_;                     // guarded by mu_
  Mux::Completions read_done_;  // strand only (the reader's; keeps its capacity)
  Clock::time_point armed_for_ = Clock::time_point::max();  // guarded by mu_ (timer hint)
  BrokenCallback on_broken_;                                // guarded by mu_
  std::atomic<bool> broken_{false};
  std::atomic<std::size_t> in_flight_{0};
};

/// Queues `chunk` on `impl` and completes with its replies: the async operation behind
/// Connection::execute.
template <class Token>
auto async_submit(std::shared_ptr<ConnectionImpl> impl, Chunk chunk, std::size_t expected,
                  Clock::time_point deadline, Token&& token, Framing framing = Framing::parsed,
                  std::size_t raw_limit = kNoRawLimit) {
  return asio::async_initiate<Token, void(Result<std::vector<Reply>>)>(
      [](auto handler, std::shared_ptr<ConnectionImpl> impl, Chunk chunk, std::size_t expected,
         Clock::time_point deadline, Framing framing, std::size_t raw_limit) {
        // The caller's executor is captured with its concrete type, so completions can be
        // posted there (any_completion_handler's erased executor cannot be posted to).
        asio::any_io_executor ex = asio::get_associated_executor(handler, impl->executor());
        impl->submit(std::move(chunk), expected, deadline, std::move(ex),
                     ReplyHandler(std::move(handler)), framing, raw_limit);
      },
      token, std::move(impl), std::move(chunk), expected, deadline, framing, raw_limit);
}

/// async_submit for one command, completing with its one reply: Connection::execute returns
/// this operation's awaitable as it is, with no coroutine frame of its own around it.
template <class Token>
auto async_submit_one(std::shared_ptr<ConnectionImpl> impl, Chunk chunk, Clock::time_point deadline,
                      Token&& token) {
  return asio::async_initiate<Token, void(Result<Reply>)>(
      [](auto handler, std::shared_ptr<ConnectionImpl> impl, Chunk&& chunk,
         Clock::time_point deadline) {
        asio::any_io_executor ex = asio::get_associated_executor(handler, impl->executor());
        // The caller's cancellation slot goes with the wrapper (submit connects it).
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto one = [h = std::move(handler)](Result<std::vector<Reply>> replies) mutable {
          if (!replies) {
            std::move(h)(Result<Reply>(std::move(replies).error()));
          } else {
            std::move(h)(Result<Reply>(std::move(replies->front())));
          }
        };
        impl->submit(std::move(chunk), 1, deadline, std::move(ex),
                     ReplyHandler(asio::bind_cancellation_slot(slot, std::move(one))));
      },
      token, std::move(impl), std::move(chunk), deadline);
}

}  // namespace connpool::redis::detail
