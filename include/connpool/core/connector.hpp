// The backend contract: what a pool needs to know about one kind of connection.
#pragma once

#include "connpool/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <memory>

namespace connpool::core {

/// When a connect() or validate() must be finished, on the steady clock, and the budget it was
/// derived from (for messages: "timed out after 2s").
struct Deadline {
  std::chrono::steady_clock::time_point at;
  std::chrono::milliseconds budget{0};

  [[nodiscard]] static Deadline after(std::chrono::milliseconds budget) {
    return Deadline{std::chrono::steady_clock::now() + budget, budget};
  }
  /// Time left, never negative.
  [[nodiscard]] std::chrono::milliseconds remaining() const {
    const auto left = at - std::chrono::steady_clock::now();
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::ceil<std::chrono::milliseconds>(left));
  }
};

/// A Connector opens, checks and closes connections of one backend; the pool owns all policy
/// (sizes, timeouts, lifetimes, retries). Model: deadpool's Manager, Boost.MySQL's pool.
///
/// - `connect(deadline)` opens and fully prepares one connection (TLS, AUTH, SELECT, ...).
/// - `validate(conn, deadline)` checks a connection with I/O (Redis PING, a cheap RPC). Called
///   only when the connection carries no lease.
/// - `recycle(conn)` is called without I/O when a lease is returned: false means "do not reuse"
///   (e.g. the connection saw an I/O error). Must be thread-safe for shared connections.
/// - `close(conn)` releases the connection's resources without blocking.
/// - Optional: `watch(conn, callback)` calls `callback(error)` once when the connection dies
///   (the server closed it, the socket failed), at once if it already has; from any thread, and
///   closing the connection may fire it too. The pool then drops a dead idle connection at once
///   and reconnects, instead of finding out at the next health check or lease. The callback only
///   posts to the pool's executor (docs/adr/0001-async-model.md).
///
/// Deadlines (docs/adr/0001-async-model.md): the pool never cancels a connect or a validate.
/// The connector enforces the deadline itself, on the executor/strand its I/O runs on (a timer
/// there that closes the socket or cancels the RPC), and returns connect_timeout /
/// validation_timeout. As a safety net the pool stops waiting shortly after the deadline; a
/// connection that arrives later is closed at once, and a connection whose validation is still
/// running is closed only when that validation returns. A connector with only `connect()` /
/// `validate(conn)` (no deadline parameter) still works, but then nothing stops its operation:
/// it must bound its I/O by itself.
template <class C>
concept Connector = requires(C& c, typename C::connection_type& conn, Deadline d) {
  typename C::connection_type;
  requires(
      requires {
        {
          c.connect(d)
          } -> std::same_as<
              boost::asio::awaitable<Result<std::unique_ptr<typename C::connection_type>>>>;
      } ||
      requires {
        {
          c.connect()
          } -> std::same_as<
              boost::asio::awaitable<Result<std::unique_ptr<typename C::connection_type>>>>;
      });
  requires(
      requires {
        { c.validate(conn, d) } -> std::same_as<boost::asio::awaitable<Result<void>>>;
      } ||
      requires {
        { c.validate(conn) } -> std::same_as<boost::asio::awaitable<Result<void>>>;
      });
  { c.recycle(conn) }
  noexcept->std::same_as<bool>;
  { c.close(conn) }
  noexcept;
};

}  // namespace connpool::core
