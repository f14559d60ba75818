// The one Redis transport: connect, TLS, handshake, close (see transport.hpp).
#include "transport.hpp"

#include "../resp.hpp"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <array>
#include <utility>

namespace connpool::redis::detail {

namespace {

std::variant<Link::TcpSocket, Link::TlsStream, Link::UnixSocket> make_stream(
    const Link::Strand& strand, const RedisUrl& url, asio::ssl::context* tls) {
  using V = std::variant<Link::TcpSocket, Link::TlsStream, Link::UnixSocket>;
  switch (url.transport) {
    case redis::Transport::tls:
      return V(std::in_place_index<1>, strand, *tls);
    case redis::Transport::unix_socket:
      return V(std::in_place_index<2>, strand);
    case redis::Transport::tcp:
      break;
  }
  return V(std::in_place_index<0>, strand);
}

}  // namespace

asio::any_io_executor make_io_strand(const asio::any_io_executor& executor) {
  using Plain = asio::io_context::executor_type;
  using Tracked = std::decay_t<decltype(asio::require(std::declval<Plain>(),
                                                      asio::execution::outstanding_work.tracked))>;
  if (const auto* io = executor.target<Plain>()) return asio::make_strand(*io);
  if (const auto* io = executor.target<Tracked>()) return asio::make_strand(*io);
  return asio::make_strand(executor);
}

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

// ---- Handshake -------------------------------------------------------------------------------

Handshake::Handshake(const RedisUrl& url) : url_(&url) {
  auto add = [&](std::span<const std::string_view> args, Step step) {
    // The handshake's own commands (AUTH, SELECT, CLIENT SETNAME, READONLY) are far below the
    // command size limit (the URL parser bounds their parts), so format cannot refuse them.
    if (auto cmd = FormattedCommand::format(args)) bytes_.append(cmd->data(), cmd->size());
    steps_.push_back(step);
  };
  if (!url.password.empty() || !url.username.empty()) {
    if (url.username.empty()) {
      const std::array<std::string_view, 2> args{"AUTH", url.password};
      add(args, Step::auth);
    } else {
      const std::array<std::string_view, 3> args{"AUTH", url.username, url.password};
      add(args, Step::auth);
    }
  }
  if (url.db != 0) {
    const std::string db_text = std::to_string(url.db);
    const std::array<std::string_view, 2> args{"SELECT", db_text};
    add(args, Step::select);
  }
  if (!url.client_name.empty()) {
    const std::array<std::string_view, 3> args{"CLIENT", "SETNAME", url.client_name};
    add(args, Step::setname);
  }
  if (url.readonly) {
    const std::array<std::string_view, 1> args{"READONLY"};
    add(args, Step::readonly);
  }
}

Result<void> Handshake::check(const std::vector<Reply>& replies) const {
  const RedisUrl& url = *url_;
  const std::string where = url.endpoint();
  for (std::size_t i = 0; i < steps_.size() && i < replies.size(); ++i) {
    const Reply& r = replies[i];
    if (!r.is_error()) continue;
    const std::string msg = scrub(r.str(), url.password);
    // A server that wants a password answers every later step with NOAUTH.
    if (steps_[i] != Step::auth && msg.starts_with("NOAUTH")) {
      return Error(errc::auth_failed, where + " requires a password: " + msg);
    }
    switch (steps_[i]) {
      case Step::auth:
        return Error(errc::auth_failed,
                     "AUTH " +
                         (url.username.empty() ? std::string("with password")
                                               : "as user '" + url.username + "'") +
                         " rejected by " + where + ": " + msg);
      case Step::select:
        return Error(errc::server_error,
                     "SELECT " + std::to_string(url.db) + " failed on " + where + ": " + msg);
      case Step::setname:
        return Error(errc::server_error, "CLIENT SETNAME failed on " + where + ": " + msg);
      case Step::readonly:
        return Error(errc::server_error, "READONLY failed on " + where + ": " + msg);
    }
  }
  return ok();
}

// ---- Link -----------------------------------------------------------------------------------

Link::Link(Strand strand, const RedisUrl& url, std::shared_ptr<asio::ssl::context> tls)
    : strand_(std::move(strand)),
      url_(url),
      tls_(std::move(tls)),
      stream_(make_stream(strand_, url_, tls_.get())),
      resolver_(strand_) {}

void Link::close() noexcept {
  closed_ = true;
  boost::system::error_code ignored;
  std::visit(
      [&](auto& s) {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, TlsStream>) {
          s.next_layer().close(ignored);
        } else {
          s.close(ignored);
        }
      },
      stream_);
  resolver_.cancel();
}

Error Link::read_error(const boost::system::error_code& ec) const {
  const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
  return Error(errc::io_error, eof ? url_.endpoint() + " closed the connection"
                                   : "read from " + url_.endpoint() + " failed: " + ec.message());
}

Error Link::write_error(const boost::system::error_code& ec) const {
  return Error(errc::io_error, "write to " + url_.endpoint() + " failed: " + ec.message());
}

asio::awaitable<Result<void>> Link::open(Clock::time_point deadline, std::shared_ptr<void> owner) {
  opening_ = true;
  asio::steady_timer timer(strand_);
  timer.expires_at(deadline);
  // Runs on this strand, like open(): closing the socket aborts the running step.
  timer.async_wait([this, owner = std::move(owner)](boost::system::error_code ec) {
    if (ec || !opening_) return;
    timed_out_ = true;
    close();
  });
  auto opened = co_await connect_stream();
  bool in_handshake = false;
  if (opened && !closed_) {
    in_handshake = true;
    opened = co_await run_handshake();
  }
  opening_ = false;
  timer.cancel();
  if (timed_out_) {
    const auto timeout = url_.pool.connect_timeout;
    co_return Error(errc::connect_timeout,
                    "connect to " + url_.endpoint() + " timed out after " + ms_text(timeout) +
                        (in_handshake ? " (waiting for AUTH/SELECT/SETNAME)" : ""));
  }
  if (opened && closed_) co_return Error(errc::io_error, "connection closed");
  co_return opened;
}

asio::awaitable<Result<void>> Link::connect_stream() {
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

asio::awaitable<Result<void>> Link::run_handshake() {
  const Handshake handshake(url_);
  if (handshake.empty()) co_return ok();
  auto [wec, written] = co_await async_write(asio::buffer(handshake.bytes()), nothrow);
  if (wec) co_return write_error(wec);
  // Nothing else is sent before these replies, so a local reader sees only them.
  RespReader reader(url_.max_reply_bytes);
  std::vector<Reply> replies;
  replies.reserve(handshake.size());
  std::array<char, 4096> buf{};
  while (replies.size() < handshake.size()) {
    auto next = reader.next();
    if (!next) co_return next.error().with_context("redis handshake with " + url_.endpoint());
    if (*next) {
      replies.push_back(std::move(**next));
      continue;
    }
    auto [rec, n] = co_await async_read_some(asio::buffer(buf), nothrow);
    if (rec) co_return read_error(rec).with_context("redis handshake with " + url_.endpoint());
    if (auto fed = reader.feed(buf.data(), n); !fed) co_return fed.error();
  }
  co_return handshake.check(replies);
}

}  // namespace connpool::redis::detail
