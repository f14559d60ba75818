// The operator page: a live view of every pool, served by the admin server at GET / and GET /admin.
//
// One self-contained HTML document (inline CSS and vanilla JS, no external resource) embedded in
// the binary at build time from src/monitor/admin_page/index.html by cmake/EmbedAssets.cmake. It
// polls GET /api/v1/admin/connection-pools every 2 s, asks once for the bearer token when the API
// answers 401 (kept in the tab's sessionStorage) and draws sparklines from what it polled.
// What it shows and what "degraded" means: docs/operator.md.
#pragma once

#include <string_view>

namespace connpool::monitor {

/// The page, UTF-8. Static storage: the view is valid for the whole program. Thread-safe.
[[nodiscard]] std::string_view admin_page_html() noexcept;

/// Content-Type to serve admin_page_html() with.
inline constexpr std::string_view kAdminPageContentType = "text/html; charset=utf-8";

/// Content-Security-Policy for the page: only its own inline script and style, API calls to the
/// same origin, nothing else (no external script, frame, form target or base URL).
inline constexpr std::string_view kAdminPageContentSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace connpool::monitor
