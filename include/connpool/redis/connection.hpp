// Connection: one Redis connection (TCP, TLS or Unix socket) with automatic pipelining.
//
// Callers append formatted commands to a write queue and await their replies; one writer (a
// handler loop on the connection's strand) flushes everything queued since its last write in a
// single gather write, one reader coroutine parses replies (hiredis reader) and completes
// callers strictly in order.
// Under load batches grow by themselves, so many concurrent callers share one socket cheaply.
//
// Thread safety: every member function is safe to call from any thread, concurrently. The
// queues are guarded by one mutex (held only to push/pop, never across I/O); the socket, the
// reader and the timers are touched only on the connection's strand. Completions
// run on the awaiting coroutine's own executor.
//
// Errors: an error *reply* (`-ERR ...`) is a successful Reply of type error. An I/O error, a
// timeout (command_timeout) or a protocol error breaks the connection: every pending and
// future command fails with that error, and broken() turns true (the pool then discards it).
//
// Lifetime: destroying the Connection closes it; commands still pending fail with io_error.
// Internals stay alive until the strand's coroutines have finished, so destruction never
// blocks and is safe while commands are in flight.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/reply.hpp"
#include "connpool/redis/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis {

namespace detail {
class ConnectionImpl;
}

/// Several commands in wire form, sent together and answered in order (see Pipeline).
class RequestBatch {
 public:
  /// Appends one command (binary-safe arguments). A command over the size limit (512 MiB,
  /// Redis's proto-max-bulk-len) is not added: the batch keeps the error (errc::invalid_argument)
  /// and Connection::execute returns it without sending anything.
  void add(std::span<const std::string_view> args);
  /// Appends `commands` requests already in RESP wire form, as they are: for a caller that
  /// parsed and checked them itself (the proxy forwarding what a client sent). The caller
  /// vouches that `bytes` is exactly `commands` complete RESP requests: the replies are
  /// matched by that count, so anything else breaks the connection.
  void append_wire(std::string_view bytes, std::size_t commands) {
    bytes_.append(bytes);
    count_ += commands;
  }
  /// Moves the wire bytes out and empties the batch (its error, if any, stays).
  [[nodiscard]] std::string take_bytes() noexcept {
    count_ = 0;
    return std::move(bytes_);
  }
  /// Appends all commands of `other` (and its error, if any).
  void append(const RequestBatch& other) {
    bytes_ += other.bytes_;
    count_ += other.count_;
    if (!error_ && other.error_) error_ = other.error_;
  }
  /// The first refused command's error, if any.
  [[nodiscard]] const std::optional<Error>& error() const noexcept { return error_; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }
  void clear() noexcept {
    bytes_.clear();
    count_ = 0;
    error_.reset();
  }

 private:
  std::string bytes_;
  std::size_t count_ = 0;
  std::optional<Error> error_;
};

/// A batch's replies as the server sent them (Connection::execute_raw).
struct RawReplies {
  std::string bytes;       ///< the RESP2 bytes of every reply, back to back, in order
  std::size_t count = 0;   ///< replies in `bytes` (the batch's size)
  std::size_t errors = 0;  ///< of them, error replies ("-ERR ...")
};

class Connection {
 public:
  /// Opens a connection on `executor` (a strand is made from it for the I/O coroutines):
  /// connect (TCP_NODELAY + keepalive) or Unix socket, TLS handshake with verification,
  /// then AUTH, SELECT, CLIENT SETNAME in one round trip. The whole sequence is bounded by
  /// `deadline`, or url.pool.connect_timeout from now without one, enforced on the connection's
  /// strand. Errors: connect_failed, connect_timeout, tls_error, auth_failed (never containing
  /// the password), server_error, protocol_error.
  static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect(
      boost::asio::any_io_executor executor, RedisUrl url,
      std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends one command and waits for its reply. `timeout` overrides url.command_timeout
  /// (0 = none); its expiry breaks the connection with errc::timeout. Per-operation
  /// cancellation completes this call with errc::cancelled at once; the late reply is then
  /// read and dropped, so the connection stays usable.
  /// `args` must stay valid until the call completes.
  boost::asio::awaitable<Result<Reply>> execute(
      std::span<const std::string_view> args,
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// Sends all commands of `batch` in one write; their replies come back in order. Other
  /// callers' commands are never interleaved inside a batch.
  boost::asio::awaitable<Result<std::vector<Reply>>> execute(
      const RequestBatch& batch, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// As execute(batch), but the replies are not parsed: their bytes are handed over as the
  /// server sent them (found by a RESP2 framer, bounded by url.max_reply_bytes), for a caller
  /// that only relays them (the proxy). Takes the batch's bytes without copying them.
  /// When the replies come to more than `max_bytes` in all, the call fails at once with
  /// errc::resource_exhausted and holds nothing more: the rest is read and dropped as after a
  /// cancellation, so the connection stays usable. Default: no limit but max_reply_bytes.
  boost::asio::awaitable<Result<RawReplies>> execute_raw(
      RequestBatch batch, std::optional<std::chrono::milliseconds> timeout = std::nullopt,
      std::size_t max_bytes = static_cast<std::size_t>(-1));

  /// True once the connection failed (I/O, timeout, protocol) or was closed.
  [[nodiscard]] bool broken() const noexcept;
  /// Why it broke, if it did.
  [[nodiscard]] std::optional<Error> error() const;
  /// Commands sent or queued whose replies have not arrived.
  [[nodiscard]] std::size_t in_flight() const noexcept;
  /// Closes the socket without waiting; pending commands fail with io_error.
  void close() noexcept;
  /// Calls `callback` once with the error when the connection breaks, e.g. the server closed
  /// it while idle (the reader sees EOF at once): at once if it is already broken. A later
  /// call replaces the callback. It runs on whichever thread saw the failure (an I/O thread,
  /// or the one calling close()) and must not block or destroy this Connection; post to your
  /// own executor from it.
  void on_broken(std::function<void(const Error&)> callback);

  [[nodiscard]] const RedisUrl& url() const noexcept;

 private:
  explicit Connection(std::shared_ptr<detail::ConnectionImpl> impl);
  std::shared_ptr<detail::ConnectionImpl> impl_;
};

}  // namespace connpool::redis
