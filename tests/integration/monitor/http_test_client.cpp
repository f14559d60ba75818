#include "http_test_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace connpool::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpTestClient::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
};

HttpTestClient::HttpTestClient(std::uint16_t port, std::chrono::milliseconds io_timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(io_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((io_timeout.count() % 1000) * 1000);
  const int fd = impl_->socket.native_handle();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

HttpTestClient::~HttpTestClient() = default;

HttpResult HttpTestClient::request(std::string_view method, std::string_view target,
                                   std::string_view authorization, int version) {
  http::request<http::empty_body> req;
  req.method_string(method);
  req.target(target);
  req.version(version);
  req.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::write(impl_->socket, req);
  auto res = read_response();
  if (!res) throw std::runtime_error("server closed the connection without a response");
  return *res;
}

void HttpTestClient::send_raw(std::string_view bytes) {
  asio::write(impl_->socket, asio::buffer(bytes.data(), bytes.size()));
}

std::optional<HttpResult> HttpTestClient::read_response() {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code ec;
  http::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::error::eof) {
    return std::nullopt;
  }
  if (ec) throw beast::system_error(ec);
  auto& res = parser.get();
  HttpResult out;
  out.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  return out;
}

bool HttpTestClient::closed_by_server() {
  char scratch[4096];
  for (;;) {
    beast::error_code ec;
    const auto n = impl_->socket.read_some(asio::buffer(scratch), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
    if (ec) return false;  // timeout (EAGAIN) or another error: still open as far as we know
    if (n == 0) return true;
  }
}

HttpResult http_get(std::uint16_t port, std::string_view target, std::string_view authorization) {
  HttpTestClient client(port);
  return client.get(target, authorization);
}

}  // namespace connpool::test
