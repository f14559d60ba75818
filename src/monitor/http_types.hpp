// The server's view of an HTTP exchange, free of Beast so routes can be unit-tested without
// sockets and new routes (the admin page of issue 9) can be added without touching the server.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace connpool::monitor::detail {

struct HttpRequest {
  std::string method;         ///< "GET", "POST", ...
  std::string target;         ///< path plus optional query, as received
  std::string authorization;  ///< the Authorization header, empty when absent
  std::string host;           ///< the Host header, empty when absent
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

}  // namespace connpool::monitor::detail
