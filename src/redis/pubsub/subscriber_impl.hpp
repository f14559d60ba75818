// The machinery behind redis::Subscriber. Internal.
//
// Everything below runs on one strand: the run loop (connect, resubscribe, read until the
// connection breaks, back off, again), the writer, and the public operations, which hop onto
// the strand. So the state needs no lock except for the few atomics/values read by the
// non-coroutine accessors (guarded by info_mu_).
#pragma once

#include "connpool/redis/subscriber.hpp"

#include "../resp.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <variant>

namespace connpool::redis::detail {

namespace asio = boost::asio;

/// One connection attempt's transport and write queue. Shared with in-flight write handlers,
/// so a new session never reuses an object a completing operation may still touch.
struct PubSubSession {
  using TcpSocket = asio::ip::tcp::socket;
  using TlsStream = asio::ssl::stream<TcpSocket>;
  using UnixSocket = asio::local::stream_protocol::socket;

  PubSubSession(const asio::strand<asio::any_io_executor>& strand, const RedisUrl& url,
                asio::ssl::context* tls);

  std::variant<TcpSocket, TlsStream, UnixSocket> stream;
  asio::steady_timer ping_timer;  // the health check's tick; cancelled by close()
  std::chrono::steady_clock::time_point last_read = std::chrono::steady_clock::now();
  bool ping_outstanding = false;
  bool ping_timed_out = false;
  std::deque<std::string> out;  // commands waiting to be written
  std::string writing;          // the command being written
  bool write_active = false;
  bool closed = false;
  RespReader reader;

  void close() noexcept;
};

class SubscriberImpl : public std::enable_shared_from_this<SubscriberImpl> {
 public:
  using Strand = asio::strand<asio::any_io_executor>;

  SubscriberImpl(Strand strand, std::vector<RedisUrl> endpoints,
                 std::vector<std::shared_ptr<asio::ssl::context>> tls, SubscriberOptions options);

  /// Spawns the run loop (once, right after construction).
  void start();

  // Strand-side operations behind the public API.
  static asio::awaitable<Result<void>> change(std::shared_ptr<SubscriberImpl> self, bool pattern,
                                              bool add, std::vector<std::string> names);
  static asio::awaitable<Result<Message>> receive(std::shared_ptr<SubscriberImpl> self,
                                                  std::chrono::milliseconds timeout);
  void close() noexcept;  // any thread

  [[nodiscard]] Strand strand() const { return strand_; }
  [[nodiscard]] std::uint64_t reconnects() const noexcept { return reconnects_.load(); }
  [[nodiscard]] bool connected() const noexcept { return connected_.load(); }
  [[nodiscard]] std::optional<Error> last_error() const;
  [[nodiscard]] std::string endpoint() const;

 private:
  static asio::awaitable<void> run(std::shared_ptr<SubscriberImpl> self);
  // PINGs a quiet connection and closes it when the PING goes unanswered.
  static asio::awaitable<void> health_check(std::shared_ptr<SubscriberImpl> self,
                                            std::shared_ptr<PubSubSession> session);
  // One connection: transport, TLS, AUTH/SELECT/SETNAME, bounded by connect_timeout.
  asio::awaitable<Result<void>> open(const std::shared_ptr<PubSubSession>& session,
                                     const RedisUrl& url);
  asio::awaitable<Result<void>> open_transport(PubSubSession& session, const RedisUrl& url);
  asio::awaitable<Result<void>> handshake(PubSubSession& session, const RedisUrl& url);
  // Reads and dispatches until the connection breaks; returns why it did.
  asio::awaitable<Error> read_session(std::shared_ptr<PubSubSession> session, const RedisUrl& url);
  Result<void> dispatch(Reply reply);

  void send(std::span<const std::string_view> args);  // on the current session, if any
  void send_subscriptions(bool pattern, bool add, const std::vector<std::string>& names);
  static void write_next(std::shared_ptr<PubSubSession> session);

  // Wakes every coroutine waiting in wait_for_change().
  void notify() noexcept;
  // Waits until notify() or `deadline`; false when the deadline passed.
  asio::awaitable<bool> wait_for_change(std::chrono::steady_clock::time_point deadline);
  void set_error(Error e);

  Strand strand_;
  std::vector<RedisUrl> endpoints_;
  std::vector<std::shared_ptr<asio::ssl::context>> tls_;
  SubscriberOptions options_;

  // Strand only.
  std::shared_ptr<PubSubSession> session_;                         // null while disconnected
  std::set<std::string> channels_, patterns_;                      // what the caller wants
  std::set<std::string> confirmed_channels_, confirmed_patterns_;  // what the server confirmed
  std::deque<Message> queue_;
  std::list<asio::steady_timer*> waiters_;
  std::optional<Error> reply_error_;  // an error reply to a (P)(UN)SUBSCRIBE
  std::uint64_t reply_errors_ = 0;
  bool closed_ = false;
  std::uint64_t sessions_ = 0;

  // Read from any thread.
  std::atomic<bool> connected_{false};
  std::atomic<bool> close_requested_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  mutable std::mutex info_mu_;
  std::optional<Error> last_error_;  // guarded by info_mu_
  std::string endpoint_;             // guarded by info_mu_
};

}  // namespace connpool::redis::detail
