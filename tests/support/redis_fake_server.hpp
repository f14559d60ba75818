// FakeServer: a loopback TCP server that plays a script, for fault and hostile-input tests.
//
// Each accepted connection runs the script (a coroutine) on the server's own io_context and
// thread: it reads commands, answers with any bytes (huge bulk headers, endless data, negative
// lengths, deep arrays, garbage), streams, replies before being asked, or closes halfway.
// The simplest script answers every read with one fixed byte string (or never answers when it
// is empty).
//
// Race-free by construction: the acceptor and every socket are touched only on the server's
// thread (async accept; the destructor posts the shutdown there and joins), so nothing is
// closed from another thread while an operation on it is in flight (issue #14, race 3).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace connpool::test {

namespace asio = boost::asio;

/// One accepted connection, as a script sees it. Every call runs on the server's thread.
class FakeSession {
 public:
  explicit FakeSession(std::shared_ptr<asio::ip::tcp::socket> socket)
      : socket_(std::move(socket)) {}

  /// Reads whatever arrives next (at least one byte); false on EOF or a closed socket.
  asio::awaitable<bool> read_some() {
    char buf[16 * 1024];
    auto [ec, n] = co_await socket_->async_read_some(asio::buffer(buf), kNothrow);
    if (ec || n == 0) co_return false;
    in_.append(buf, n);
    received_ += n;
    co_return true;
  }

  /// The next complete RESP command (array of bulk strings) from the client; nullopt on EOF.
  /// Inline commands are not supported (connpool never sends them).
  asio::awaitable<std::optional<std::vector<std::string>>> read_command() {
    for (;;) {
      if (auto cmd = take_command()) co_return cmd;
      if (!co_await read_some()) co_return std::nullopt;
    }
  }

  /// Writes `bytes`; false when the peer is gone.
  asio::awaitable<bool> write(std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(*socket_, asio::buffer(bytes), kNothrow);
    (void)n;
    if (!ec) sent_ += bytes.size();
    co_return !ec;
  }

  /// Writes `head`, then `chunk` again and again until `limit` bytes were sent or the peer
  /// stops reading and closes (the client refusing the reply). Returns the bytes sent.
  asio::awaitable<std::size_t> stream(std::string_view head, std::string_view chunk,
                                      std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    const std::size_t start = sent_;
    if (!co_await write(head)) co_return sent_ - start;
    while (sent_ - start < limit) {
      if (!co_await write(chunk)) break;
    }
    co_return sent_ - start;
  }

  /// Waits `d` (to trickle bytes); the server's shutdown waits for at most one pause.
  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer timer(socket_->get_executor(), d);
    co_await timer.async_wait(kNothrow);
  }

  void close() {
    boost::system::error_code ec;
    socket_->close(ec);
  }

  [[nodiscard]] std::size_t bytes_received() const noexcept { return received_; }
  [[nodiscard]] std::size_t bytes_sent() const noexcept { return sent_; }

 private:
  static constexpr auto kNothrow = asio::as_tuple(asio::use_awaitable);

  // Parses one "*<n>\r\n($<len>\r\n<bytes>\r\n){n}" from the front of `in_`.
  std::optional<std::vector<std::string>> take_command() {
    std::size_t pos = 0;
    auto line = [&](char type, long long& value) -> bool {
      if (pos >= in_.size() || in_[pos] != type) return false;
      const auto end = in_.find("\r\n", pos);
      if (end == std::string::npos) return false;
      value = std::stoll(in_.substr(pos + 1, end - pos - 1));
      pos = end + 2;
      return true;
    };
    long long argc = 0;
    if (!line('*', argc)) return std::nullopt;
    std::vector<std::string> args;
    for (long long i = 0; i < argc; ++i) {
      long long len = 0;
      if (!line('$', len)) return std::nullopt;
      if (in_.size() < pos + static_cast<std::size_t>(len) + 2) return std::nullopt;
      args.push_back(in_.substr(pos, static_cast<std::size_t>(len)));
      pos += static_cast<std::size_t>(len) + 2;
    }
    in_.erase(0, pos);
    return args;
  }

  std::shared_ptr<asio::ip::tcp::socket> socket_;
  std::string in_;
  std::size_t received_ = 0;
  std::size_t sent_ = 0;
};

class FakeServer {
 public:
  /// What one connection does; returning closes it.
  using Script = std::function<asio::awaitable<void>(FakeSession&)>;

  /// Answers every read with `answer` (never answers when it is empty).
  explicit FakeServer(std::string answer) : FakeServer(answer_each_read(std::move(answer))) {}

  explicit FakeServer(Script script) : script_(std::move(script)) {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ctx_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }

  ~FakeServer() {
    // On the server's thread: stop accepting and close every live socket, which completes
    // each pending operation with an error; the coroutines then return and run() ends.
    asio::post(ctx_, [this] {
      stopping_ = true;
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& weak : sockets_) {
        if (auto s = weak.lock()) s->close(ec);
      }
    });
    thread_.join();
  }

  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url(const std::string& q) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "?" + q;
  }
  /// Connections accepted so far.
  [[nodiscard]] std::size_t accepted() const noexcept { return accepted_.load(); }
  /// Bytes sent by scripts that finished (a script's total is added when it returns).
  [[nodiscard]] std::size_t bytes_sent() const noexcept { return sent_.load(); }

  // ---- ready-made scripts -----------------------------------------------------------------

  /// Answers each read with `answer` (nothing when empty).
  static Script answer_each_read(std::string answer) {
    return [answer = std::move(answer)](FakeSession& s) -> asio::awaitable<void> {
      while (co_await s.read_some()) {
        if (!answer.empty() && !co_await s.write(answer)) co_return;
      }
    };
  }

  /// Answers each command: `reply(args)` gives the bytes to send; nullopt ends the script
  /// (closing the connection). An empty string sends nothing.
  static Script on_command(
      std::function<std::optional<std::string>(const std::vector<std::string>&)> reply) {
    return [reply = std::move(reply)](FakeSession& s) -> asio::awaitable<void> {
      while (auto cmd = co_await s.read_command()) {
        auto bytes = reply(*cmd);
        if (!bytes) co_return;
        if (!bytes->empty() && !co_await s.write(*bytes)) co_return;
      }
    };
  }

 private:
  asio::awaitable<void> accept_loop() {
    while (!stopping_) {
      auto socket = std::make_shared<asio::ip::tcp::socket>(ctx_);
      auto [ec] = co_await acceptor_.async_accept(*socket, asio::as_tuple(asio::use_awaitable));
      if (ec || stopping_) co_return;
      ++accepted_;
      // Forget sockets of finished sessions, so a long test does not grow the list.
      std::erase_if(sockets_, [](const auto& w) { return w.expired(); });
      sockets_.push_back(socket);
      asio::co_spawn(ctx_, run_session(socket), asio::detached);
    }
  }

  asio::awaitable<void> run_session(std::shared_ptr<asio::ip::tcp::socket> socket) {
    FakeSession session(socket);
    co_await script_(session);
    sent_ += session.bytes_sent();
    session.close();
  }

  Script script_;
  asio::io_context ctx_;
  asio::ip::tcp::acceptor acceptor_{ctx_};
  std::uint16_t port_ = 0;
  bool stopping_ = false;                                      // server thread only
  std::vector<std::weak_ptr<asio::ip::tcp::socket>> sockets_;  // server thread only
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> sent_{0};
  std::thread thread_;
};

}  // namespace connpool::test
