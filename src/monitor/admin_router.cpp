#include "admin_router.hpp"

#include "connpool/core/detail/hex.hpp"
#include "connpool/monitor/admin_page.hpp"

#include "admin_json.hpp"
#include "host_check.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

namespace connpool::monitor::detail {
namespace {

using nlohmann::json;

constexpr std::string_view kPoolsPath = "/api/v1/admin/connection-pools";

std::string dump(const json& j) {
  // Error messages come from backends and may hold invalid UTF-8: replace, never throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse json_ok(const json& j, unsigned status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = dump(j);
  return r;
}

using core::detail::hex_value;

}  // namespace

HttpResponse json_error(unsigned status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = error_body(status, code, message);
  return r;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // volatile keeps the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

AdminRouter::AdminRouter(std::shared_ptr<const PoolRegistry> pools,
                         std::shared_ptr<const MetricsRegistry> metrics, std::string token,
                         bool token_for_metrics)
    : AdminRouter(std::move(pools), std::move(metrics),
                  RouterAccess{std::move(token), token_for_metrics, false, {}}) {}

AdminRouter::AdminRouter(std::shared_ptr<const PoolRegistry> pools,
                         std::shared_ptr<const MetricsRegistry> metrics, RouterAccess access)
    : pools_(std::move(pools)), metrics_(std::move(metrics)), access_(std::move(access)) {
  if (!pools_) pools_ = std::make_shared<const PoolRegistry>();

  add_get("/healthz", false, [](const HttpRequest&, std::string_view) {
    return json_ok(json{{"status", "ok"}});
  });

  // The operator page (issue 9). Public like /healthz: it holds no data, and the API calls it
  // makes are what the token guards.
  for (const char* page : {"/", "/admin"}) {
    add_get(page, false, [](const HttpRequest&, std::string_view) {
      HttpResponse r;
      r.content_type = std::string(kAdminPageContentType);
      r.body = std::string(admin_page_html());
      r.headers.emplace_back("Content-Security-Policy",
                             std::string(kAdminPageContentSecurityPolicy));
      r.headers.emplace_back("Referrer-Policy", "no-referrer");
      return r;
    });
  }

  add_get("/readyz", false, [this](const HttpRequest&, std::string_view) {
    bool ready = true;
    auto body = readiness_json(*pools_, ready);
    return json_ok(body, ready ? 200 : 503);
  });

  if (metrics_) {
    add_get("/metrics", false, [this](const HttpRequest&, std::string_view) {
      HttpResponse r;
      r.content_type = std::string(kPrometheusTextContentType);
      r.body = metrics_->scrape();
      return r;
    });
  }

  add_get(std::string(kPoolsPath), false, [this](const HttpRequest&, std::string_view) {
    json list = json::array();
    for (const auto& p : pools_->list()) {
      json j = pool_json(*p);
      j["proxies"] = proxies_json(pools_->proxies_of(p->name));
      list.push_back(std::move(j));
    }
    return json_ok(json{{"generated_at", format_time(std::chrono::system_clock::now())},
                        {"pools", std::move(list)}});
  });

  add_get(std::string(kPoolsPath) + "/", true, [this](const HttpRequest&, std::string_view rest) {
    // /api/v1/admin/connection-pools/{name}/connections: only the live connections.
    constexpr std::string_view kConnections = "/connections";
    const bool connections_only = rest.size() > kConnections.size() && rest.ends_with(kConnections);
    if (connections_only) rest.remove_suffix(kConnections.size());
    std::string name;
    if (!percent_decode(rest, name)) {
      return json_error(400, "bad_request", "malformed percent-escape in the pool name");
    }
    auto pool = pools_->find(name);
    // The unknown name is not echoed back: it is caller-controlled text.
    if (!pool) return json_error(404, "not_found", "no pool with that name");
    json j = pool_json(*pool, /*with_connections=*/true);
    if (connections_only) {
      return json_ok(json{{"name", j["name"]}, {"connections", std::move(j["connections"])}});
    }
    j["proxies"] = proxies_json(pools_->proxies_of(pool->name));
    return json_ok(j);
  });
}

void AdminRouter::add_get(std::string path, bool prefix, Handler handler) {
  routes_.push_back(Route{std::move(path), prefix, std::move(handler)});
}

bool AdminRouter::authorized(const HttpRequest& request) const {
  constexpr std::string_view kScheme = "bearer ";
  const std::string_view auth = request.authorization;
  if (auth.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(auth[i])) != kScheme[i]) return false;
  }
  auto presented = auth.substr(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  return constant_time_equal(presented, access_.token);
}

bool AdminRouter::guarded(std::string_view path) const {
  if (path.starts_with("/api/")) return true;
  if (path == "/metrics") return access_.token_for_metrics || access_.protect_all;
  return path == "/readyz" && access_.protect_all;
}

HttpResponse AdminRouter::handle(const HttpRequest& request) const {
  try {
    std::string_view path = request.target;
    if (const auto q = path.find_first_of("?#"); q != std::string_view::npos) {
      path = path.substr(0, q);
    }
    // Before anything else, so a rebinding page learns nothing, not even which paths exist.
    if (!host_allowed(request.host, access_.allowed_hosts)) {
      return json_error(421, "misdirected_request",
                        "this server does not answer to that Host name; use its IP address, "
                        "localhost, or a name in admin.allowed_hosts");
    }
    if (!access_.token.empty() && guarded(path) && !authorized(request)) {
      auto r = json_error(401, "unauthenticated", "a valid bearer token is required");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"connpool\"");
      return r;
    }
    for (const auto& route : routes_) {
      const bool match = route.prefix
                             ? path.starts_with(route.path) && path.size() > route.path.size()
                             : path == route.path;
      if (!match) continue;
      if (request.method != "GET") {
        auto r = json_error(405, "method_not_allowed", "only GET is allowed here");
        r.headers.emplace_back("Allow", "GET");
        return r;
      }
      return route.handler(request,
                           route.prefix ? path.substr(route.path.size()) : std::string_view{});
    }
    return json_error(404, "not_found", "no such endpoint");
  } catch (...) {
    // The exception text may carry details from a stats source; keep it out of the response.
    return json_error(500, "internal", "the request failed inside the server");
  }
}

}  // namespace connpool::monitor::detail
