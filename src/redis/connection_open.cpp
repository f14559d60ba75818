// Opening a Redis connection: resolve, connect (TCP_NODELAY, keepalive) or Unix socket, TLS
// handshake with chain and host name verification, then AUTH / SELECT / CLIENT SETNAME in one
// round trip. Everything is bounded by connect_timeout and no message contains the password.
#include "connpool/redis/connection.hpp"

#include "connection_impl.hpp"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <array>
#include <utility>

namespace connpool::redis::detail {

namespace {

constexpr int kKeepAliveIdleSeconds = 60;

/// Removes every occurrence of the password from a server message before it becomes an Error.
std::string scrub(std::string msg, const std::string& secret) {
  if (secret.empty()) return msg;
  for (auto pos = msg.find(secret); pos != std::string::npos; pos = msg.find(secret, pos + 3)) {
    msg.replace(pos, secret.size(), "***");
  }
  return msg;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const RedisUrl& url) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  if (url.tls.verify) {
    ctx->set_verify_mode(asio::ssl::verify_peer, ec);
    if (!url.tls.ca_file.empty()) {
      ctx->load_verify_file(url.tls.ca_file, ec);
      if (ec) {
        return Error(errc::tls_error,
                     "cannot load tls_ca_file '" + url.tls.ca_file + "': " + ec.message());
      }
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return Error(errc::tls_error, "cannot load the system CA store: " + ec.message());
    }
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none, ec);
  }
  if (!url.tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(url.tls.cert_file, ec);
    if (ec) {
      return Error(errc::tls_error,
                   "cannot load tls_cert_file '" + url.tls.cert_file + "': " + ec.message());
    }
    ctx->use_private_key_file(url.tls.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return Error(errc::tls_error,
                   "cannot load tls_key_file '" + url.tls.key_file + "': " + ec.message());
    }
  }
  return ctx;
}

asio::awaitable<Result<void>> ConnectionImpl::open(std::shared_ptr<ConnectionImpl> self,
                                                   std::optional<Clock::time_point> until) {
  const auto timeout = self->url_.pool.connect_timeout;
  const auto deadline = until.value_or(Clock::now() + timeout);
  // Resolver, connect and TLS handshake are bounded by closing the socket when the deadline
  // passes: that aborts whichever step is running, on every transport.
  asio::steady_timer timer(self->strand_);
  timer.expires_at(deadline);
  timer.async_wait([self](boost::system::error_code ec) {
    if (ec) return;
    self->connect_timed_out_ = true;
    self->close_transport();
  });
  auto transport = co_await self->open_transport();
  timer.cancel();
  if (self->connect_timed_out_) {
    transport = Error(errc::connect_timeout, "connect to " + self->url_.endpoint() +
                                                 " timed out after " + ms_text(timeout));
  }
  if (!transport) co_return transport;
  self->start_loops();
  co_return co_await self->handshake(deadline);
}

asio::awaitable<Result<void>> ConnectionImpl::open_transport() {
  const std::string where = url_.endpoint();
  if (auto* unix_socket = std::get_if<UnixSocket>(&stream_)) {
    auto [ec] = co_await unix_socket->async_connect(
        asio::local::stream_protocol::endpoint(url_.path), nothrow);
    if (ec)
      co_return Error(errc::connect_failed, "connect to " + where + " failed: " + ec.message());
    co_return ok();
  }
  auto [rec, endpoints] =
      co_await resolver_.async_resolve(url_.host, std::to_string(url_.port), nothrow);
  if (rec) {
    co_return Error(errc::connect_failed, "cannot resolve '" + url_.host + "': " + rec.message());
  }
  TcpSocket& socket = std::holds_alternative<TlsStream>(stream_)
                          ? std::get<TlsStream>(stream_).next_layer()
                          : std::get<TcpSocket>(stream_);
  auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, nothrow);
  if (cec) {
    co_return Error(errc::connect_failed, "connect to " + where + " failed: " + cec.message());
  }
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  // Dead peers behind NAT or a crashed host are found in minutes, not the kernel's two hours.
  const int idle = kKeepAliveIdleSeconds;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);

  if (auto* tls = std::get_if<TlsStream>(&stream_)) {
    const std::string& name = url_.tls_server_name();
    if (url_.tls.verify) {
      // Wraps Asio's RFC 6125 check to tell a name mismatch apart from an untrusted chain.
      tls->set_verify_callback([this, check = asio::ssl::host_name_verification(name)](
                                   bool preverified, asio::ssl::verify_context& ctx) mutable {
        const bool ok = check(preverified, ctx);
        if (preverified && !ok) tls_name_mismatch_ = true;
        return ok;
      });
    }
    // SNI carries host names only (RFC 6066); an IP literal is not sent.
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, nothrow);
    if (hec) {
      std::string msg = "TLS handshake with " + where + " failed: " + hec.message();
      const long verify = SSL_get_verify_result(tls->native_handle());
      if (tls_name_mismatch_) {
        msg += " (certificate does not match host name '" + name + "')";
      } else if (verify != X509_V_OK) {
        msg += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
      }
      co_return Error(errc::tls_error, std::move(msg));
    }
  }
  co_return ok();
}

asio::awaitable<Result<void>> ConnectionImpl::handshake(Clock::time_point deadline) {
  RequestBatch batch;
  enum class Step { auth, select, setname, readonly };
  std::vector<Step> steps;
  const std::string db_text = std::to_string(url_.db);
  if (!url_.password.empty() || !url_.username.empty()) {
    if (url_.username.empty()) {
      const std::array<std::string_view, 2> args{"AUTH", url_.password};
      batch.add(args);
    } else {
      const std::array<std::string_view, 3> args{"AUTH", url_.username, url_.password};
      batch.add(args);
    }
    steps.push_back(Step::auth);
  }
  if (url_.db != 0) {
    const std::array<std::string_view, 2> args{"SELECT", db_text};
    batch.add(args);
    steps.push_back(Step::select);
  }
  if (!url_.client_name.empty()) {
    const std::array<std::string_view, 3> args{"CLIENT", "SETNAME", url_.client_name};
    batch.add(args);
    steps.push_back(Step::setname);
  }
  if (url_.readonly) {
    const std::array<std::string_view, 1> args{"READONLY"};
    batch.add(args);
    steps.push_back(Step::readonly);
  }
  if (batch.empty()) co_return ok();
  Chunk chunk;
  chunk.owned = batch.bytes();
  auto replies = co_await async_submit(shared_from_this(), std::move(chunk), batch.size(), deadline,
                                       asio::use_awaitable);
  const std::string where = url_.endpoint();
  if (!replies) {
    if (replies.error().is(errc::timeout)) {
      co_return Error(errc::connect_timeout, "connect to " + where + " timed out after " +
                                                 ms_text(url_.pool.connect_timeout) +
                                                 " (waiting for AUTH/SELECT/SETNAME)");
    }
    co_return replies.error().with_context("redis handshake with " + where);
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Reply& r = (*replies)[i];
    if (!r.is_error()) continue;
    const std::string msg = scrub(r.str(), url_.password);
    switch (steps[i]) {
      case Step::auth:
        co_return Error(errc::auth_failed,
                        "AUTH " +
                            (url_.username.empty() ? std::string("with password")
                                                   : "as user '" + url_.username + "'") +
                            " rejected by " + where + ": " + msg);
      case Step::select:
        if (msg.starts_with("NOAUTH")) {
          co_return Error(errc::auth_failed, where + " requires a password: " + msg);
        }
        co_return Error(errc::server_error,
                        "SELECT " + db_text + " failed on " + where + ": " + msg);
      case Step::setname:
        if (msg.starts_with("NOAUTH")) {
          co_return Error(errc::auth_failed, where + " requires a password: " + msg);
        }
        co_return Error(errc::server_error, "CLIENT SETNAME failed on " + where + ": " + msg);
      case Step::readonly:
        co_return Error(errc::server_error, "READONLY failed on " + where + ": " + msg);
    }
  }
  co_return ok();
}

}  // namespace connpool::redis::detail
