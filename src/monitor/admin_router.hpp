// AdminRouter: maps a request to a response. Pure (no I/O), so every route and the auth rules are
// unit-tested without sockets. The Beast server (admin_server.cpp) only moves bytes.
#pragma once

#include "connpool/monitor/metrics_registry.hpp"
#include "connpool/monitor/pool_registry.hpp"

#include "http_types.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::monitor::detail {

/// Who may call what.
struct RouterAccess {
  /// Bearer token for /api/*; empty disables auth.
  std::string token;
  /// Also require the token on /metrics.
  bool token_for_metrics = false;
  /// Also require the token on /metrics and /readyz (admin.protect_all). /healthz and the
  /// operator page (which holds no data) stay open.
  bool protect_all = false;
  /// Host header names accepted besides IP literals and "localhost" (admin.allowed_hosts);
  /// any other name gets 421 on every endpoint (DNS rebinding).
  std::vector<std::string> allowed_hosts;
};

class AdminRouter {
 public:
  /// `rest` is the part of the path after a prefix route's prefix (empty for exact routes).
  using Handler = std::function<HttpResponse(const HttpRequest&, std::string_view rest)>;

  /// Registers the standard routes (/metrics, /healthz, /readyz, /api/v1/admin/...). `metrics`
  /// may be null (then /metrics answers 404). An empty `token` disables auth on /api/*;
  /// `token_for_metrics` extends it to /metrics.
  AdminRouter(std::shared_ptr<const PoolRegistry> pools,
              std::shared_ptr<const MetricsRegistry> metrics, std::string token,
              bool token_for_metrics = false);
  AdminRouter(std::shared_ptr<const PoolRegistry> pools,
              std::shared_ptr<const MetricsRegistry> metrics, RouterAccess access);
  // The standard handlers capture `this`.
  AdminRouter(const AdminRouter&) = delete;
  AdminRouter& operator=(const AdminRouter&) = delete;

  /// Adds a GET route. `prefix` routes match `path` followed by anything. Later routes do not
  /// override earlier ones. Not thread-safe: add routes before the server starts.
  void add_get(std::string path, bool prefix, Handler handler);

  /// Thread-safe (handlers only read thread-safe registries). Never throws: a handler's
  /// exception becomes a 500 JSON error.
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;

 private:
  struct Route {
    std::string path;
    bool prefix = false;
    Handler handler;
  };
  [[nodiscard]] bool authorized(const HttpRequest& request) const;
  [[nodiscard]] bool guarded(std::string_view path) const;

  std::shared_ptr<const PoolRegistry> pools_;
  std::shared_ptr<const MetricsRegistry> metrics_;
  RouterAccess access_;
  std::vector<Route> routes_;
};

/// A JSON error response.
HttpResponse json_error(unsigned status, std::string_view code, std::string_view message);

/// Compares in time that depends only on the lengths, never on where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Decodes %XX escapes; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace connpool::monitor::detail
