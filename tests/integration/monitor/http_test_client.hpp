// A small blocking HTTP/1.1 client for the admin server tests, on loopback only. Every read and
// write is bounded by a socket timeout, so a misbehaving server fails a test instead of hanging it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace connpool::test {

struct HttpResult {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  bool keep_alive = false;
  [[nodiscard]] std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpTestClient {
 public:
  /// Connects to 127.0.0.1:port. `io_timeout` bounds each socket read and write.
  explicit HttpTestClient(std::uint16_t port,
                          std::chrono::milliseconds io_timeout = std::chrono::seconds(10));
  ~HttpTestClient();
  HttpTestClient(const HttpTestClient&) = delete;
  HttpTestClient& operator=(const HttpTestClient&) = delete;

  /// One request on this (keep-alive) connection. Throws std::runtime_error on I/O errors.
  HttpResult request(std::string_view method, std::string_view target,
                     std::string_view authorization = {}, int version = 11);
  HttpResult get(std::string_view target, std::string_view authorization = {}) {
    return request("GET", target, authorization);
  }

  /// Writes bytes as they are (for malformed, oversized or slow requests).
  void send_raw(std::string_view bytes);
  /// Reads one response; nullopt when the server closed the connection first.
  std::optional<HttpResult> read_response();
  /// True when the server has closed the connection: a read returns EOF (or reset) within the
  /// io timeout. Consumes any pending bytes.
  bool closed_by_server();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Sends one GET on a fresh connection.
HttpResult http_get(std::uint16_t port, std::string_view target,
                    std::string_view authorization = {});

}  // namespace connpool::test
