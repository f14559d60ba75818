// One Redis transport, shared by pooled connections, the Subscriber, Sentinel queries and
// cluster discovery: resolve, connect (TCP_NODELAY, keepalive) or Unix socket, TLS with chain
// and host name verification (SNI for host names only), then AUTH / SELECT / CLIENT SETNAME /
// READONLY in one round trip, everything bounded by one deadline enforced on the transport's
// own strand. Moves bytes only: request queueing and reply matching live elsewhere. Internal.
#pragma once

#include "connpool/redis/reply.hpp"
#include "connpool/redis/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace connpool::redis::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

/// Coroutine completion token that reports errors as values instead of exceptions.
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

/// Dead peers behind NAT or a crashed host are found in minutes, not the kernel's two hours.
inline constexpr int kKeepAliveIdleSeconds = 60;

inline std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

/// Removes every occurrence of the password from a server message before it becomes an Error.
std::string scrub(std::string msg, const std::string& secret);

/// True for an IPv4/IPv6 literal: SNI carries host names only (RFC 6066).
bool is_ip_literal(const std::string& host);

/// The TLS context for `url` (CA file or system store, client certificate, verify mode).
Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const RedisUrl& url);

/// The connection handshake for a URL (AUTH, SELECT, CLIENT SETNAME, READONLY): the bytes to
/// send and the check of the replies. I/O-free.
class Handshake {
 public:
  explicit Handshake(const RedisUrl& url);
  [[nodiscard]] bool empty() const noexcept { return steps_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return steps_.size(); }
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }
  /// The first rejected step as an Error (auth_failed / server_error), password scrubbed.
  [[nodiscard]] Result<void> check(const std::vector<Reply>& replies) const;

 private:
  enum class Step { auth, select, setname, readonly };
  const RedisUrl* url_;
  std::string bytes_;
  std::vector<Step> steps_;
};

/// A strand over `executor`, as an any_io_executor. Over an io_context's own executor (the
/// usual case) it is a strand<io_context::executor_type>, small enough for any_io_executor's
/// inline storage: every async operation on a socket copies and re-wraps its executor
/// (outstanding work, blocking.possibly), and a strand<any_io_executor> does not fit there,
/// so each of those copies was a heap allocation (about 8 per command at one caller).
/// Any other executor gets a strand<any_io_executor>.
[[nodiscard]] asio::any_io_executor make_io_strand(const asio::any_io_executor& executor);

/// The byte stream of one connection attempt. Every member runs on the strand given at
/// construction. A Link is not reused after close(): reconnecting makes a new one.
class Link {
 public:
  /// A strand (make_io_strand), type-erased: see make_io_strand for why it is not a
  /// strand<any_io_executor>.
  using Strand = asio::any_io_executor;
  using TcpSocket = asio::ip::tcp::socket;
  using TlsStream = asio::ssl::stream<TcpSocket>;
  using UnixSocket = asio::local::stream_protocol::socket;

  /// `tls` must be set for a rediss:// URL (see make_tls_context).
  Link(Strand strand, const RedisUrl& url, std::shared_ptr<asio::ssl::context> tls);

  /// Strand only. Connects, handshakes TLS and runs the Handshake, all before `deadline`:
  /// the deadline closes the transport on this strand, which aborts whichever step is running
  /// (no cancellation crosses threads). `owner` keeps this object alive for the deadline's
  /// handler. Errors: connect_failed, connect_timeout, tls_error, auth_failed, server_error,
  /// io_error, protocol_error.
  asio::awaitable<Result<void>> open(Clock::time_point deadline, std::shared_ptr<void> owner);

  /// Strand only: one gather write of `buffers`, completed as (error_code, bytes).
  template <class Buffers, class Token>
  auto async_write(const Buffers& buffers, Token&& token) {
    return std::visit(
        [&](auto& s) { return asio::async_write(s, buffers, std::forward<Token>(token)); },
        stream_);
  }

  /// Strand only: writes what a plain TCP or Unix socket takes at once, without waiting and
  /// without the reactor (one send call, as a blocking client makes): the bytes written, 0
  /// when the socket is full (would_block is not an error here) and always 0 for TLS, whose
  /// records go through async_write. Errors other than would_block are set in `ec`.
  template <class Buffers>
  std::size_t write_now(const Buffers& buffers, boost::system::error_code& ec) {
    return std::visit(
        [&](auto& s) -> std::size_t {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, TlsStream>) {
            return 0;
          } else {
            // User-level non-blocking: a synchronous write must never park the io thread.
            // Asio's async operations are unaffected (they are non-blocking anyway).
            if (!s.non_blocking()) s.non_blocking(true, ec);
            if (ec) return 0;
            const std::size_t n = s.write_some(buffers, ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) ec.clear();
            return n;
          }
        },
        stream_);
  }

  /// Strand only: one read into `buffer`, completed as (error_code, bytes).
  template <class Token>
  auto async_read_some(asio::mutable_buffer buffer, Token&& token) {
    return std::visit(
        [&](auto& s) { return s.async_read_some(buffer, std::forward<Token>(token)); }, stream_);
  }

  /// Strand only. Closes the socket (pending operations complete with an error). Idempotent.
  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept { return closed_; }

  /// Why a read or write failed, in the words every user of the transport reports.
  [[nodiscard]] Error read_error(const boost::system::error_code& ec) const;
  [[nodiscard]] Error write_error(const boost::system::error_code& ec) const;

 private:
  asio::awaitable<Result<void>> connect_stream();
  asio::awaitable<Result<void>> run_handshake();

  Strand strand_;
  RedisUrl url_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::variant<TcpSocket, TlsStream, UnixSocket> stream_;
  asio::ip::tcp::resolver resolver_;
  bool opening_ = false;            // the deadline handler closes only while open() runs
  bool timed_out_ = false;          // the deadline closed the transport
  bool tls_name_mismatch_ = false;  // set by the TLS verify callback
  bool closed_ = false;
};

}  // namespace connpool::redis::detail
