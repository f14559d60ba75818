// The one error model of connpool: an error code from a single category plus a message that
// explains itself. Every fallible public call returns connpool::Result<T> carrying this type;
// no exception crosses the public API (see docs/adr/0002-error-model.md).
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace connpool {

/// What went wrong, independent of backend. Backends map their own failures onto these codes
/// (a Redis `-ERR` reply is `server_error`, a gRPC NOT_FOUND is `not_found`, and so on).
enum class errc {
  ok = 0,
  // Pool
  acquire_timeout = 1,  ///< waited longer than PoolConfig::acquire_timeout for a connection
  pool_closed,          ///< the pool was closed before or while waiting
  circuit_open,         ///< the pool's circuit breaker is open: failing fast
  invalid_config,       ///< a configuration value broke a rule (the message names the field)
  // Connecting and checking
  connect_failed,      ///< the connector could not open a connection
  connect_timeout,     ///< opening a connection took longer than connect_timeout
  validation_failed,   ///< a health check / borrow check found the connection unusable
  validation_timeout,  ///< a health check took longer than validation_timeout
  auth_failed,         ///< credentials were rejected
  tls_error,           ///< TLS handshake or certificate verification failed
  // Talking to the backend
  io_error,        ///< the socket/stream failed; the connection is broken
  timeout,         ///< an operation exceeded its own deadline
  protocol_error,  ///< the peer sent something that is not valid protocol
  server_error,    ///< the server answered with an error reply (the connection is fine)
  watch_conflict,  ///< a Redis transaction was aborted because a WATCHed key changed
  // Backend status codes (gRPC-style)
  not_found,
  already_exists,
  failed_precondition,
  aborted,
  unavailable,
  deadline_exceeded,
  permission_denied,
  unauthenticated,
  resource_exhausted,
  invalid_argument,  ///< bad input from the caller (a bad URL, document path, filter, ...)
  out_of_range,
  cancelled,
  unimplemented,
  internal,
  too_many_redirects,  ///< a Redis Cluster command kept being redirected
  cross_slot,          ///< a Redis Cluster operation spans several hash slots
  unknown,
};

/// Short stable name of a code ("acquire_timeout"): used as a metric label and in JSON.
std::string_view to_string(errc code) noexcept;

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A failure: a code to branch on and a message for people. Messages never contain secrets
/// (passwords, tokens); code that builds them redacts first.
class Error {
 public:
  Error() = default;
  Error(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] errc code() const noexcept { return code_; }
  [[nodiscard]] std::error_code error_code() const noexcept { return make_error_code(code_); }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  [[nodiscard]] bool is(errc c) const noexcept { return code_ == c; }

  /// "acquire_timeout: acquire timed out after 250ms (...)"
  [[nodiscard]] std::string to_string() const;

  /// A copy whose message is prefixed with context: "redis GET: <message>".
  [[nodiscard]] Error with_context(std::string_view context) const;

  friend bool operator==(const Error& a, const Error& b) noexcept {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  errc code_ = errc::unknown;
  std::string message_;
};

}  // namespace connpool

template <>
struct std::is_error_code_enum<connpool::errc> : std::true_type {};
