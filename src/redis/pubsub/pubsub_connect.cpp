// Opening a Subscriber's connection: resolve + connect (TCP_NODELAY, keepalive), Unix socket or
// TLS with verification, then AUTH / SELECT / CLIENT SETNAME, all bounded by connect_timeout.
// Mirrors Connection's opening (connection_open.cpp) for a socket the pipelining engine cannot
// drive: a subscribed connection receives messages nobody asked for.
#include "subscriber_impl.hpp"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace connpool::redis::detail {

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string scrub(std::string msg, const std::string& secret) {
  if (secret.empty()) return msg;
  for (auto pos = msg.find(secret); pos != std::string::npos; pos = msg.find(secret, pos + 3)) {
    msg.replace(pos, secret.size(), "***");
  }
  return msg;
}

std::variant<PubSubSession::TcpSocket, PubSubSession::TlsStream, PubSubSession::UnixSocket>
make_stream(const asio::strand<asio::any_io_executor>& strand, const RedisUrl& url,
            asio::ssl::context* tls) {
  using V =
      std::variant<PubSubSession::TcpSocket, PubSubSession::TlsStream, PubSubSession::UnixSocket>;
  if (url.transport == Transport::tls) {
    return V(std::in_place_index<1>, asio::any_io_executor(strand), *tls);
  }
  if (url.transport == Transport::unix_socket) {
    return V(std::in_place_index<2>, asio::any_io_executor(strand));
  }
  return V(std::in_place_index<0>, asio::any_io_executor(strand));
}

}  // namespace

PubSubSession::PubSubSession(const asio::strand<asio::any_io_executor>& strand, const RedisUrl& url,
                             asio::ssl::context* tls)
    : stream(make_stream(strand, url, tls)), ping_timer(strand), reader(url.max_reply_bytes) {}

void PubSubSession::close() noexcept {
  closed = true;
  ping_timer.cancel();
  boost::system::error_code ignored;
  std::visit(
      [&](auto& s) {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, TlsStream>) {
          s.next_layer().close(ignored);
        } else {
          s.close(ignored);
        }
      },
      stream);
}

asio::awaitable<Result<void>> SubscriberImpl::open(const std::shared_ptr<PubSubSession>& session,
                                                   const RedisUrl& url) {
  const auto timeout = url.pool.connect_timeout;
  // Closing the socket at the deadline aborts whichever step is running.
  asio::steady_timer timer(strand_);
  timer.expires_after(timeout);
  bool timed_out = false;
  timer.async_wait([session, &timed_out](boost::system::error_code ec) {
    if (ec) return;
    timed_out = true;
    session->close();
  });
  auto opened = co_await open_transport(*session, url);
  if (opened) opened = co_await handshake(*session, url);
  timer.cancel();
  if (timed_out) {
    co_return Error(errc::connect_timeout, "connect to " + url.endpoint() + " timed out after " +
                                               std::to_string(timeout.count()) + "ms");
  }
  co_return opened;
}

asio::awaitable<Result<void>> SubscriberImpl::open_transport(PubSubSession& session,
                                                             const RedisUrl& url) {
  const std::string where = url.endpoint();
  if (auto* unix_socket = std::get_if<PubSubSession::UnixSocket>(&session.stream)) {
    auto [ec] = co_await unix_socket->async_connect(
        asio::local::stream_protocol::endpoint(url.path), nothrow);
    if (ec)
      co_return Error(errc::connect_failed, "connect to " + where + " failed: " + ec.message());
    co_return ok();
  }
  asio::ip::tcp::resolver resolver(strand_);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), nothrow);
  if (rec) {
    co_return Error(errc::connect_failed, "cannot resolve '" + url.host + "': " + rec.message());
  }
  auto& socket = std::holds_alternative<PubSubSession::TlsStream>(session.stream)
                     ? std::get<PubSubSession::TlsStream>(session.stream).next_layer()
                     : std::get<PubSubSession::TcpSocket>(session.stream);
  auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, nothrow);
  if (cec) {
    co_return Error(errc::connect_failed, "connect to " + where + " failed: " + cec.message());
  }
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  // A subscriber is mostly silent: keepalive finds a dead peer that would otherwise leave it
  // waiting forever.
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  const int idle = 60;  // seconds, as for pooled connections (the kernel default is 2 hours)
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  if (auto* tls = std::get_if<PubSubSession::TlsStream>(&session.stream)) {
    const std::string& name = url.tls_server_name();
    if (url.tls.verify) tls->set_verify_callback(asio::ssl::host_name_verification(name));
    boost::system::error_code aec;
    asio::ip::make_address(name, aec);
    if (aec) SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, nothrow);
    if (hec) {
      co_return Error(errc::tls_error, "TLS handshake with " + where + " failed: " + hec.message());
    }
  }
  co_return ok();
}

asio::awaitable<Result<void>> SubscriberImpl::handshake(PubSubSession& session,
                                                        const RedisUrl& url) {
  std::string bytes;
  std::vector<std::string> steps;
  auto add = [&](std::span<const std::string_view> args, std::string step) {
    // The handshake's own commands (AUTH, SELECT, CLIENT SETNAME) are far below the limit.
    if (auto cmd = FormattedCommand::format(args)) bytes.append(cmd->data(), cmd->size());
    steps.push_back(std::move(step));
  };
  const std::string db_text = std::to_string(url.db);
  if (!url.password.empty() || !url.username.empty()) {
    if (url.username.empty()) {
      const std::array<std::string_view, 2> args{"AUTH", url.password};
      add(args, "AUTH");
    } else {
      const std::array<std::string_view, 3> args{"AUTH", url.username, url.password};
      add(args, "AUTH");
    }
  }
  if (url.db != 0) {
    const std::array<std::string_view, 2> args{"SELECT", db_text};
    add(args, "SELECT " + db_text);
  }
  if (!url.client_name.empty()) {
    const std::array<std::string_view, 3> args{"CLIENT", "SETNAME", url.client_name};
    add(args, "CLIENT SETNAME");
  }
  if (bytes.empty()) co_return ok();
  const std::string where = url.endpoint();
  auto [wec, written] = co_await std::visit(
      [&](auto& s) { return asio::async_write(s, asio::buffer(bytes), nothrow); }, session.stream);
  if (wec) co_return Error(errc::io_error, "write to " + where + " failed: " + wec.message());
  std::array<char, 4096> buf{};
  std::size_t i = 0;
  while (i < steps.size()) {
    auto next = session.reader.next();
    if (!next) co_return next.error();
    if (*next) {
      const Reply& r = **next;
      if (r.is_error()) {
        const std::string msg = scrub(r.str(), url.password);
        const bool auth =
            steps[i] == "AUTH" || msg.starts_with("NOAUTH") || msg.starts_with("WRONGPASS");
        co_return Error(auth ? errc::auth_failed : errc::server_error,
                        steps[i] + " rejected by " + where + ": " + msg);
      }
      ++i;
      continue;
    }
    auto [rec, n] = co_await std::visit(
        [&](auto& s) { return s.async_read_some(asio::buffer(buf), nothrow); }, session.stream);
    if (rec) {
      co_return Error(errc::io_error, "read from " + where + " failed: " + rec.message());
    }
    if (auto fed = session.reader.feed(buf.data(), n); !fed) co_return fed.error();
  }
  co_return ok();
}

}  // namespace connpool::redis::detail
