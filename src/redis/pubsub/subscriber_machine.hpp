// The Subscriber's lifecycle as a state machine with no I/O: connect -> subscribe -> read ->
// ping -> backoff -> connect ... -> closed. It is fed events (a connection attempt succeeded
// or failed, a reply arrived, the session broke, the clock moved, the caller changed its
// subscriptions or closed) and answers with Effects for a thin Asio driver to carry out (open
// a session to an endpoint, write bytes, close the session, wake waiters), plus the time at
// which it wants on_time() again. Unit tests drive it with replies and a manual clock.
//
// Sessions are numbered: an event about an older session (e.g. the read error of a session
// the machine already closed) is ignored. Not thread-safe: the driver runs it on its strand.
#pragma once

#include "connpool/core/backoff.hpp"
#include "connpool/redis/reply.hpp"
#include "connpool/redis/subscriber.hpp"

#include "../resp.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace connpool::redis::detail {

class SubscriberMachine {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { idle, connecting, connected, backoff, closed };

  /// What the driver must do after an event, in this order: close the current session, open
  /// session `open_session` to endpoint `endpoint`, write `write` on the current session,
  /// wake waiters (receive / subscribe confirmations / backpressure).
  struct Effects {
    bool close_session = false;
    std::optional<std::uint64_t> open_session;
    std::size_t endpoint = 0;
    std::string write;
    bool wake = false;
  };

  /// `endpoints` name the interchangeable endpoints (for messages); each connect attempt after
  /// a failure takes the next one. `backoff_seed` 0 picks a fresh one. `max_reply_bytes`
  /// bounds one reply (url.max_reply_bytes): a larger one breaks the session.
  SubscriberMachine(std::vector<std::string> endpoints, SubscriberOptions options,
                    std::uint64_t backoff_seed = 0,
                    std::size_t max_reply_bytes = kDefaultMaxReplyBytes);

  Effects start(Clock::time_point now);
  Effects connected(std::uint64_t session, Clock::time_point now);
  Effects connect_failed(std::uint64_t session, Error why, Clock::time_point now);
  /// Bytes read on `session`: parsed (bounded by max_reply_bytes) and every complete reply
  /// handled as by received(). Only a complete reply proves the server alive: the bytes of a
  /// reply that never ends do not hold off the PING check. Malformed or oversized replies
  /// break the session.
  Effects on_bytes(std::uint64_t session, const char* data, std::size_t size,
                   Clock::time_point now);
  /// One reply read on `session`. A reply that is no pub/sub reply breaks the session.
  Effects received(std::uint64_t session, Reply reply, Clock::time_point now);
  /// The session broke (read error, EOF, the socket closed).
  Effects lost(std::uint64_t session, Error why, Clock::time_point now);
  /// The clock moved: ends a backoff, sends a PING, or gives up on an unanswered one.
  Effects on_time(Clock::time_point now);
  /// The caller (un)subscribes `names` (channels, or patterns when `pattern`). An empty list
  /// with add == false means "all of them"; returns the names it applies to in `names`.
  Effects change(bool pattern, bool add, std::vector<std::string>& names);
  Effects close();

  /// When the driver must call on_time() (max() when nothing is scheduled).
  [[nodiscard]] Clock::time_point next_wakeup() const noexcept;

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool closed() const noexcept { return state_ == State::closed; }
  [[nodiscard]] bool is_connected() const noexcept { return state_ == State::connected; }
  [[nodiscard]] std::uint64_t session() const noexcept { return session_; }
  [[nodiscard]] std::size_t endpoint() const noexcept { return endpoint_; }
  [[nodiscard]] std::uint64_t reconnects() const noexcept { return reconnects_; }
  [[nodiscard]] const std::optional<Error>& last_error() const noexcept { return last_error_; }

  /// Room for more messages: the driver stops reading while this is false (backpressure).
  [[nodiscard]] bool wants_read() const noexcept;
  [[nodiscard]] bool has_message() const noexcept { return !queue_.empty(); }
  /// The oldest message (has_message() must be true). `wake` turns true when a reader that
  /// stopped for backpressure may go on.
  Message pop_message(bool& wake);

  /// True when every name is (add) or is no longer (remove) confirmed by the server.
  [[nodiscard]] bool confirmed(bool pattern, bool add, const std::vector<std::string>& names) const;
  /// Error replies to (un)subscribe commands so far, and the last one.
  [[nodiscard]] std::uint64_t reply_errors() const noexcept { return reply_errors_; }
  [[nodiscard]] const std::optional<Error>& reply_error() const noexcept { return reply_error_; }
  /// Stops wanting the names the server refused (called after a refused subscribe).
  void forget_unconfirmed(bool pattern, const std::vector<std::string>& names);

 private:
  Effects begin_backoff(Error why, Clock::time_point now, bool close_session);
  Effects open_next(Clock::time_point now);
  std::string subscription_bytes(bool pattern, bool add,
                                 const std::vector<std::string>& names) const;

  std::vector<std::string> endpoints_;
  SubscriberOptions options_;
  std::size_t max_reply_bytes_;
  std::optional<RespReader> reader_;  // the current session's parser (made on connected())
  core::Backoff backoff_;
  State state_ = State::idle;
  std::uint64_t session_ = 0;  // the current (or last) session's number
  std::size_t endpoint_ = 0;
  std::uint64_t sessions_up_ = 0;
  std::uint64_t reconnects_ = 0;
  Clock::time_point backoff_until_ = Clock::time_point::max();
  Clock::time_point next_ping_ = Clock::time_point::max();
  Clock::time_point last_read_{};
  bool ping_outstanding_ = false;
  std::optional<Error> last_error_;

  std::set<std::string> channels_, patterns_;                      // what the caller wants
  std::set<std::string> confirmed_channels_, confirmed_patterns_;  // what the server confirmed
  std::deque<Message> queue_;
  std::optional<Error> reply_error_;
  std::uint64_t reply_errors_ = 0;
};

}  // namespace connpool::redis::detail
