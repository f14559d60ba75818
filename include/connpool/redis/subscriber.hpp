// Subscriber: Redis Pub/Sub on a dedicated connection (SUBSCRIBE, PSUBSCRIBE, messages).
//
// A subscribed connection is stateful (it only accepts (P)(UN)SUBSCRIBE and PING), so it is
// never a pooled lease: a Subscriber opens and owns one connection of its own, from a RedisUrl
// or from a Client's URL.
//
// Reconnection: when the connection breaks (server restart, CLIENT KILL, network), the
// Subscriber reconnects in the background with exponential backoff and subscribes again to
// every channel and pattern, as go-redis and redis-py do. Messages published while it was
// disconnected are lost (Redis Pub/Sub is fire-and-forget); so that callers know about the gap,
// receive() yields a Message of kind `reconnected` first (SubscriberOptions::report_reconnects)
// and reconnects() counts them.
//
// Thread safety: every member is safe from any thread; coroutine members may be awaited on any
// executor and complete there. Several concurrent receive() calls each get different messages.
// The blocking forms must not be called from a thread running the Subscriber's executor.
//
// Lifetime: move-only; destroying the last handle closes the connection. close() is final:
// pending and later calls fail with errc::cancelled ("subscriber closed").
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis {

class Client;

struct SubscriberOptions {
  /// Reconnect delay (connpool::core::Backoff): at most reconnect_backoff_initial after the
  /// first failure, doubling per further failure up to reconnect_backoff_max, with full
  /// jitter; a successful connection resets it. Defaults 100 ms and 2000 ms.
  std::chrono::milliseconds reconnect_backoff_initial{100};
  std::chrono::milliseconds reconnect_backoff_max{2000};
  /// How long subscribe()/unsubscribe() (and the pattern forms) wait for the server's
  /// confirmation. Default 5000 ms. On expiry the call fails with errc::timeout, but the
  /// subscription stays registered and is sent again on every reconnect.
  std::chrono::milliseconds confirm_timeout{5000};
  /// Health check: when nothing has arrived for this long, send PING; when still nothing
  /// arrives by the next check, the connection is taken for dead and replaced (errc::timeout).
  /// Finds peers that vanished without a reset (a crashed host, a NAT that forgot the flow),
  /// within about 2-3 intervals. Default 30000 ms; 0 = off (TCP keepalive only).
  std::chrono::milliseconds ping_interval{30000};
  /// Deliver a Message of kind `reconnected` after every reconnect. Default true.
  bool report_reconnects = true;
  /// Messages buffered for receive(). When full, the Subscriber stops reading the socket, so
  /// the server's `client-output-buffer-limit pubsub` decides what happens to a consumer that
  /// cannot keep up (it disconnects it; the Subscriber then reconnects and reports the gap).
  /// Default 10000; 0 means no bound.
  std::size_t max_buffered = 10000;
};

/// One delivery from receive().
struct Message {
  enum class Kind {
    message,      ///< from a SUBSCRIBE'd channel
    pmessage,     ///< from a PSUBSCRIBE'd pattern; `pattern` says which
    reconnected,  ///< the connection was re-established: messages may have been missed.
                  ///< `payload` says why the previous connection ended.
  };
  Kind kind = Kind::message;
  std::string pattern;
  std::string channel;
  std::string payload;  ///< binary-safe
};

namespace detail {
class SubscriberImpl;
}

class Subscriber {
 public:
  template <class T>
  using Task = boost::asio::awaitable<Result<T>>;

  /// Starts connecting at once (in the background, on a strand of `executor`). Never fails for
  /// an unreachable server: that shows up as confirmation timeouts and in last_error().
  /// Errors: invalid_argument / tls_error for an unusable URL (e.g. a missing CA file).
  static Result<Subscriber> create(boost::asio::any_io_executor executor, RedisUrl url,
                                   SubscriberOptions options = {});
  /// The Client's URL and executor (the same server, credentials and TLS settings).
  static Result<Subscriber> create(const Client& client, SubscriberOptions options = {});
  /// Several interchangeable endpoints (e.g. the Sentinels): each connect attempt takes the
  /// next one, so the Subscriber moves on when one is down.
  static Result<Subscriber> create(boost::asio::any_io_executor executor,
                                   std::vector<RedisUrl> endpoints, SubscriberOptions options = {});

  Subscriber(Subscriber&&) noexcept;
  Subscriber& operator=(Subscriber&&) noexcept;
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  ~Subscriber();

  /// Subscribes and waits until the server confirmed every channel (messages published after
  /// that are delivered). Errors: timeout (not confirmed within confirm_timeout; the message
  /// carries the last connection error), server_error, cancelled (closed).
  Task<void> subscribe(std::vector<std::string> channels);
  Task<void> unsubscribe(std::vector<std::string> channels);
  Task<void> psubscribe(std::vector<std::string> patterns);
  Task<void> punsubscribe(std::vector<std::string> patterns);

  /// The next message, in the order the server sent them. Waits as long as it takes
  /// (reconnecting meanwhile); errc::cancelled when the Subscriber is closed.
  Task<Message> receive();
  /// As receive(), failing with errc::timeout when nothing arrives within `timeout`.
  Task<Message> receive(std::chrono::milliseconds timeout);

  /// Blocking form of any coroutine member: `auto m = sub.wait(sub.receive(1s));`.
  template <class T>
  Result<T> wait(boost::asio::awaitable<Result<T>> op) const {
    // Spawned on the executor the Subscriber was created with, not on its strand: the
    // operations hop to the strand themselves, so the strand adds nothing but a second
    // refcounted executor copy shared across threads (see tests/integration/redis/tsan.supp).
    return boost::asio::co_spawn(spawn_executor(), std::move(op), boost::asio::use_future).get();
  }
  /// Blocking receive with a timeout.
  Result<Message> receive_blocking(std::chrono::milliseconds timeout) {
    return wait(receive(timeout));
  }

  /// Closes the connection and stops reconnecting; wakes every pending call with
  /// errc::cancelled. Idempotent, never blocks.
  void close() noexcept;

  /// Connections re-established after a break (each one may have lost messages).
  [[nodiscard]] std::uint64_t reconnects() const noexcept;
  /// True while a connection is up (subscriptions may still be in flight).
  [[nodiscard]] bool connected() const noexcept;
  /// Why the last connection attempt or connection failed; empty if none has.
  [[nodiscard]] std::optional<Error> last_error() const;
  /// The endpoint of the current (or last) connection, for display.
  [[nodiscard]] std::string endpoint() const;
  [[nodiscard]] boost::asio::any_io_executor executor() const;

 private:
  explicit Subscriber(std::shared_ptr<detail::SubscriberImpl> impl);
  // The executor given to create() (the strand's inner executor), for wait().
  [[nodiscard]] boost::asio::any_io_executor spawn_executor() const;
  std::shared_ptr<detail::SubscriberImpl> impl_;
};

}  // namespace connpool::redis
