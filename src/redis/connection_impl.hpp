// The machinery behind redis::Connection: transport, write queue, in-order reply queue, the
// writer (a completion-handler loop), and two strand coroutines (reader, deadline watchdog).
// Internal.
#pragma once

#include "connpool/redis/reply.hpp"
#include "connpool/redis/url.hpp"

#include "resp.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace connpool::redis::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using ReplyHandler = asio::any_completion_handler<void(Result<std::vector<Reply>>)>;

/// Bytes waiting to be written: a hiredis-formatted command or a pre-built batch.
struct Chunk {
  FormattedCommand command;
  std::string owned;
  [[nodiscard]] asio::const_buffer buffer() const noexcept {
    return command.empty() ? asio::buffer(owned) : asio::buffer(command.data(), command.size());
  }
};

/// One submission waiting for `expected` replies.
struct Pending {
  std::size_t expected = 1;
  std::vector<Reply> replies;
  ReplyHandler handler;            // empty once the caller cancelled: replies are read and dropped
  asio::any_io_executor executor;  // where the handler runs (the caller's executor)
  Clock::time_point deadline = Clock::time_point::max();
  std::uint64_t seq = 0;
};

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  using Strand = asio::strand<asio::any_io_executor>;
  using TcpSocket = asio::ip::tcp::socket;
  using TlsStream = asio::ssl::stream<TcpSocket>;
  using UnixSocket = asio::local::stream_protocol::socket;

  ConnectionImpl(Strand strand, RedisUrl url, std::shared_ptr<asio::ssl::context> tls);

  /// Runs on the strand: transport, TLS, then the AUTH/SELECT/SETNAME round trip, all by
  /// `deadline` (now + url.pool.connect_timeout without one).
  static asio::awaitable<Result<void>> open(std::shared_ptr<ConnectionImpl> self,
                                            std::optional<Clock::time_point> deadline);

  /// Queues `chunk` (carrying `expected` commands) and completes `handler` with the replies.
  /// Thread-safe.
  void submit(Chunk chunk, std::size_t expected, Clock::time_point deadline,
              asio::any_io_executor executor, ReplyHandler handler);

  /// Breaks the connection with `error` (first error wins). Thread-safe.
  void fail(Error error) noexcept;

  [[nodiscard]] bool broken() const noexcept { return broken_.load(std::memory_order_acquire); }
  [[nodiscard]] std::optional<Error> error() const;
  [[nodiscard]] std::size_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const RedisUrl& url() const noexcept { return url_; }
  [[nodiscard]] asio::any_io_executor executor() const { return strand_; }
  [[nodiscard]] Clock::time_point deadline_from(std::optional<std::chrono::milliseconds> t) const;

 private:
  static asio::awaitable<void> read_loop(std::shared_ptr<ConnectionImpl> self);
  static asio::awaitable<void> watch_loop(std::shared_ptr<ConnectionImpl> self);
  asio::awaitable<Result<void>> open_transport();
  asio::awaitable<Result<void>> handshake(Clock::time_point deadline);
  void start_loops();
  void cancel(std::uint64_t seq) noexcept;
  static void deliver(const asio::any_io_executor& executor, ReplyHandler handler,
                      Result<std::vector<Reply>> result);
  void close_transport() noexcept;  // strand only
  void arm_watchdog();              // strand only
  void write_pending();             // strand only: one gather write of everything queued
  void on_written(const boost::system::error_code& ec);  // strand only

  Strand strand_;
  RedisUrl url_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::variant<TcpSocket, TlsStream, UnixSocket> stream_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer watch_timer_;  // fires at the oldest pending deadline
  Clock::time_point watch_armed_for_ = Clock::time_point::max();  // strand only
  bool tls_name_mismatch_ = false;                 // strand only (set by the TLS verify callback)
  bool connect_timed_out_ = false;                 // strand only
  RespReader reader_;                              // reader coroutine only
  std::vector<Chunk> writing_batch_;               // strand only
  std::vector<asio::const_buffer> write_buffers_;  // strand only

  mutable std::mutex mu_;
  std::vector<Chunk> queue_;     // guarded by mu_
  std::deque<Pending> pending_;  // guarded by mu_; same order as the bytes on the wire
  bool writing_ = false;         // guarded by mu_: a write_pending() round is scheduled or running
  std::uint64_t next_seq_ = 1;   // guarded by mu_
  std::optional<Error> error_;   // guarded by mu_
  std::atomic<bool> broken_{false};
  std::atomic<std::size_t> in_flight_{0};
};

/// Coroutine completion token that reports errors as values instead of exceptions.
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

inline std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

/// The TLS context for `url` (CA file or system store, client certificate, verify mode).
Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const RedisUrl& url);

/// Queues `chunk` on `impl` and completes with its replies: the async operation behind
/// Connection::execute and the connect handshake.
template <class Token>
auto async_submit(std::shared_ptr<ConnectionImpl> impl, Chunk chunk, std::size_t expected,
                  Clock::time_point deadline, Token&& token) {
  return asio::async_initiate<Token, void(Result<std::vector<Reply>>)>(
      [](auto handler, std::shared_ptr<ConnectionImpl> impl, Chunk chunk, std::size_t expected,
         Clock::time_point deadline) {
        // The caller's executor is captured with its concrete type, so completions can be
        // posted there (any_completion_handler's erased executor cannot be posted to).
        asio::any_io_executor ex = asio::get_associated_executor(handler, impl->executor());
        impl->submit(std::move(chunk), expected, deadline, std::move(ex),
                     ReplyHandler(std::move(handler)));
      },
      token, std::move(impl), std::move(chunk), expected, deadline);
}

}  // namespace connpool::redis::detail
