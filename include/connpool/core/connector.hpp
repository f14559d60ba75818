// The backend contract: what a pool needs to know about one kind of connection.
#pragma once

#include "connpool/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <memory>

namespace connpool::core {

/// A Connector opens, checks and closes connections of one backend; the pool owns all policy
/// (sizes, timeouts, lifetimes, retries). Model: deadpool's Manager, Boost.MySQL's pool.
///
/// - `connect()` opens and fully prepares one connection (TLS, AUTH, SELECT, ...).
/// - `validate(conn)` checks a connection with I/O (Redis PING, a cheap RPC). Called only when
///   the connection carries no lease.
/// - `recycle(conn)` is called without I/O when a lease is returned: false means "do not reuse"
///   (e.g. the connection saw an I/O error). Must be thread-safe for shared connections.
/// - `close(conn)` releases the connection's resources without blocking.
///
/// Cancellation: the pool bounds connect() and validate() with its timeouts by emitting Asio
/// per-operation cancellation; both must finish promptly when cancelled (every Asio socket and
/// timer operation does).
template <class C>
concept Connector = requires(C& c, typename C::connection_type& conn) {
  typename C::connection_type;
  {
    c.connect()
    } -> std::same_as<boost::asio::awaitable<Result<std::unique_ptr<typename C::connection_type>>>>;
  { c.validate(conn) } -> std::same_as<boost::asio::awaitable<Result<void>>>;
  { c.recycle(conn) }
  noexcept->std::same_as<bool>;
  { c.close(conn) }
  noexcept;
};

}  // namespace connpool::core
