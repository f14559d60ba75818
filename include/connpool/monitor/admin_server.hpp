// AdminServer: the HTTP endpoint operators and Prometheus talk to.
//
//   GET /metrics                              Prometheus text format (MetricsRegistry::scrape())
//   GET /api/v1/admin/connection-pools        every pool as JSON (schema: docs/monitoring.md)
//   GET /api/v1/admin/connection-pools/{name} one pool; 404 JSON error when unknown
//   GET /healthz                              200 while the process serves requests
//   GET /readyz                               200 when every pool is ready, else 503 with reasons
//
// Unknown paths answer 404, other methods 405, both as JSON errors. When a bearer token is set,
// /api/* answers 401 without it (and /metrics, /readyz too with protect_all). A Host header that
// is neither an IP literal, localhost nor an allowed name answers 421 everywhere. Built on
// Boost.Beast, which stays out of this header.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace connpool::monitor {

struct AdminServerOptions {
  /// Address to listen on. Default "127.0.0.1": loopback only. Use "0.0.0.0" deliberately (and
  /// set a token) to expose it.
  std::string bind_address = "127.0.0.1";
  /// TCP port. Default 0: an ephemeral port, see AdminServer::port().
  std::uint16_t port = 0;
  /// When not empty, /api/* requires `Authorization: Bearer <token>` (compared in constant
  /// time). /metrics, /healthz and /readyz stay open. Default empty: no auth. Never logged.
  std::string bearer_token;
  /// Also require the token on /metrics (Prometheus then sends it with `authorization:
  /// credentials_file:`). Default false: /metrics is open like most exporters'. Ignored without
  /// a token.
  bool token_for_metrics = false;
  /// Require the token on /metrics and /readyz too (admin.protect_all); only /healthz and the
  /// operator page (no data) stay open. Needs a bearer_token (start() refuses it without one:
  /// protection asked for must not silently be absent). Default false.
  bool protect_all = false;
  /// Host header names accepted besides IP literals (v4, [v6], with or without port) and
  /// "localhost" (admin.allowed_hosts), compared without case. A request naming any other host
  /// gets 421 on every endpoint: this defeats DNS rebinding, where a web page points a name it
  /// controls at this server and reads it from the user's browser. Default empty.
  std::vector<std::string> allowed_hosts;
  /// Largest request line + headers accepted; larger requests get 431 and the connection is
  /// closed. Default 8192 bytes.
  std::size_t max_header_bytes = 8192;
  /// Largest request body accepted (every route is a GET); larger gets 413. Default 1024 bytes.
  std::size_t max_body_bytes = 1024;
  /// Time from the first byte of a request to its last header byte (and body); a slower client
  /// gets 408 and is disconnected (slowloris). A new connection that sends nothing gets the
  /// same time, then is closed. Default 5000 ms. Must be > 0.
  std::chrono::milliseconds header_timeout{5000};
  /// How long a keep-alive connection may sit idle between requests. Default 5000 ms: idle
  /// sockets are cheap to hold for a client and each one costs the process a descriptor, so
  /// they are not kept long (a scraper simply reconnects).
  std::chrono::milliseconds idle_timeout{5000};
  /// Time allowed to write one response. Default 10000 ms.
  std::chrono::milliseconds write_timeout{10000};
  /// Most connections open at once; far below the process's descriptor limit, so admin clients
  /// cannot starve the pools of descriptors. When a new connection arrives at the cap, the
  /// connection that has waited longest for a request to arrive or finish (idle keep-alive,
  /// silent, or slow) is closed to make room, so clients holding idle sockets cannot lock out
  /// Prometheus or probes; only when every connection is writing a response is the new one
  /// closed at once. Default 64.
  std::size_t max_connections = 64;
};

/// Thread safety: port(), address() and stop() may be called from any thread. Requests are
/// served concurrently on the executor's threads; the registries must be thread-safe (they are).
///
/// Lifetimes: the server shares ownership of the registries. Destroying the AdminServer stops it;
/// with start() on a caller's executor, in-flight connections finish winding down on that
/// executor afterwards (they keep the server's internals alive), so the io_context must keep
/// running or be destroyed after the server object.
class AdminServer {
 public:
  /// Binds, listens and starts accepting on `executor` (e.g. your io_context's). Returns once the
  /// socket listens, so port() is known. Errors: invalid_argument (bad address or option),
  /// io_error (bind/listen failed, e.g. the port is taken).
  static Result<AdminServer> start(boost::asio::any_io_executor executor,
                                   AdminServerOptions options,
                                   std::shared_ptr<const PoolRegistry> pools,
                                   std::shared_ptr<const MetricsRegistry> metrics);

  /// As start(), on an io_context served by one thread the server owns. The destructor (or
  /// stop()) closes every connection and joins that thread.
  static Result<AdminServer> start_on_own_thread(AdminServerOptions options,
                                                 std::shared_ptr<const PoolRegistry> pools,
                                                 std::shared_ptr<const MetricsRegistry> metrics);

  AdminServer(AdminServer&&) noexcept;
  AdminServer& operator=(AdminServer&&) noexcept;
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  ~AdminServer();

  /// The bound port (the real one when options.port was 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// "127.0.0.1:9464"
  [[nodiscard]] std::string address() const;

  /// Stops accepting and closes every connection. Idempotent. With start_on_own_thread() it also
  /// joins the thread, so it must not be called from a request handler.
  void stop() noexcept;

  struct State;   // implementation details, admin_server.cpp
  struct Thread;  // the owned io_context and its thread

 private:
  AdminServer(std::unique_ptr<Thread> thread, std::shared_ptr<State> state) noexcept;

  // Declared first so it is destroyed last: the state's sockets must go before their io_context.
  std::unique_ptr<Thread> thread_;
  std::shared_ptr<State> state_;
};

}  // namespace connpool::monitor
