// The machinery behind redis::Subscriber: the Asio driver around SubscriberMachine. Internal.
#pragma once

#include "connpool/redis/subscriber.hpp"

#include "../detail/transport.hpp"
#include "../resp.hpp"
#include "subscriber_machine.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <span>
#include <string>

namespace connpool::redis::detail {

namespace asio = boost::asio;

/// One connection attempt's transport and write queue. Shared with in-flight handlers, so a
/// new session never reuses an object a completing operation may still touch.
struct PubSubSession {
  PubSubSession(const asio::strand<asio::any_io_executor>& strand, const RedisUrl& url,
                std::shared_ptr<asio::ssl::context> tls, std::uint64_t id);

  Link link;                    // the one Redis transport (see detail/transport.hpp)
  std::uint64_t id;             // the state machine's session number
  std::deque<std::string> out;  // commands waiting to be written
  std::string writing;          // the command being written
  bool write_active = false;
  bool closed = false;

  void close() noexcept;
};

/// The Asio driver of a Subscriber: it carries out the SubscriberMachine's effects (open a
/// session, write, close, wake waiters), feeds it what the socket and the clock say, and
/// serves the public operations. Everything runs on one strand, so the state needs no lock
/// except for the values read by the non-coroutine accessors (atomics, info_mu_).
class SubscriberImpl : public std::enable_shared_from_this<SubscriberImpl> {
 public:
  using Strand = asio::strand<asio::any_io_executor>;

  SubscriberImpl(Strand strand, std::vector<RedisUrl> endpoints,
                 std::vector<std::shared_ptr<asio::ssl::context>> tls, SubscriberOptions options);

  /// Starts connecting (once, right after construction).
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
  using Effects = SubscriberMachine::Effects;

  // Carries out `fx`; wakes waiters unless `defer_wake` (the caller then calls notify()).
  void apply(Effects fx, bool defer_wake = false);
  // Opens `session` (before `deadline`) and reads from it until it breaks, feeding the
  // machine.
  static asio::awaitable<void> run_session(std::shared_ptr<SubscriberImpl> self,
                                           std::shared_ptr<PubSubSession> session,
                                           std::chrono::steady_clock::time_point deadline);
  void send(std::string bytes);  // on the current session
  static void write_next(std::shared_ptr<PubSubSession> session);
  void arm_wakeup();                                    // the machine's next_wakeup()
  void on_wakeup(const boost::system::error_code& ec);  // strand

  // Wakes every coroutine waiting in wait_for_change().
  void notify() noexcept;
  // Waits until notify() or `deadline`.
  asio::awaitable<void> wait_for_change(std::chrono::steady_clock::time_point deadline);

  Strand strand_;
  std::vector<RedisUrl> endpoints_;
  std::vector<std::shared_ptr<asio::ssl::context>> tls_;
  SubscriberOptions options_;

  // Strand only.
  SubscriberMachine machine_;
  std::shared_ptr<PubSubSession> session_;  // the session being opened or read, if any
  asio::steady_timer wakeup_;
  std::chrono::steady_clock::time_point wakeup_at_ = std::chrono::steady_clock::time_point::max();
  std::list<asio::steady_timer*> waiters_;

  // Read from any thread.
  std::atomic<bool> connected_{false};
  std::atomic<bool> close_requested_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  mutable std::mutex info_mu_;
  std::optional<Error> last_error_;  // guarded by info_mu_
  std::string endpoint_;             // guarded by info_mu_
};

}  // namespace connpool::redis::detail
