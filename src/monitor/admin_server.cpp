// The Beast side of the admin server: accept loop, one coroutine per connection, limits and
// timeouts. Routing and JSON live in admin_router.cpp; nothing here knows about pools.
#include "connpool/monitor/admin_server.hpp"

#include "admin_router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

namespace connpool::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using detail::AdminRouter;
using detail::HttpRequest;
using detail::HttpResponse;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

struct Session {
  explicit Session(tcp::socket socket)
      : stream(std::move(socket)), request_timer(stream.get_executor()) {}
  beast::tcp_stream stream;  // its executor is this connection's strand
  // The request deadline (header_timeout). Not the stream's own expiry: that closes the socket,
  // and the 408 could never be sent. This timer only cancels the read, on the same strand.
  asio::steady_timer request_timer;
  std::uint64_t request_generation = 0;  // strand only: tells a stale timer firing apart
  bool request_timed_out = false;        // strand only

  // Read by the accept loop (another strand) to pick a connection to evict at the cap.
  // Evictable while waiting for a request to start or to finish arriving; not while the
  // response is being produced or written.
  std::atomic<bool> evictable{true};
  std::atomic<std::int64_t> waiting_since{0};  // steady_clock ticks when the wait began
  bool evicting = false;                       // guarded by State::mutex

  void waiting() noexcept {
    waiting_since.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                        std::memory_order_relaxed);
    evictable.store(true, std::memory_order_relaxed);
  }
};
}  // namespace

struct AdminServer::State {
  State(asio::any_io_executor ex, AdminServerOptions opts,
        std::shared_ptr<const PoolRegistry> pools, std::shared_ptr<const MetricsRegistry> metrics)
      : executor(std::move(ex)),
        options(std::move(opts)),
        router(std::move(pools), std::move(metrics),
               detail::RouterAccess{options.bearer_token, options.token_for_metrics,
                                    options.protect_all, options.allowed_hosts}),
        acceptor(asio::make_strand(executor)) {}

  asio::any_io_executor executor;
  const AdminServerOptions options;
  const AdminRouter router;
  tcp::acceptor acceptor;  // on its own strand; only the accept loop and stop() touch it
  std::uint16_t port = 0;
  std::string bound_address;

  std::atomic<std::size_t> open_connections{0};
  std::mutex mutex;  // guards the fields below
  bool stopped = false;
  std::uint64_t next_session = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions;
};

struct AdminServer::Thread {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  std::thread thread;
};

namespace {

using State = AdminServer::State;

http::response<http::string_body> to_beast(HttpResponse r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "connpool");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

// After refusing a request the client may still be sending it. Closing with unread bytes makes
// the kernel send a reset that can destroy the response in flight, so read and discard for a
// moment first (a bounded "lingering close").
asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::milliseconds(500));
  char scratch[4096];
  std::size_t discarded = 0;
  while (discarded < 1024 * 1024) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kAsTuple);
    if (ec) break;
    discarded += n;
  }
  stream.close();
}

// Reads the rest of one request under the header_timeout deadline. On the deadline the read is
// cancelled (not the socket closed), so the caller can still answer 408.
asio::awaitable<beast::error_code> read_request(const std::shared_ptr<Session>& session,
                                                beast::flat_buffer& buffer,
                                                http::request_parser<http::string_body>& parser,
                                                std::chrono::milliseconds deadline) {
  const std::uint64_t generation = ++session->request_generation;
  session->request_timed_out = false;
  session->request_timer.expires_after(deadline);
  session->request_timer.async_wait([session, generation](beast::error_code ec) {
    // Runs on the session's strand (the timer's executor), like the read it cancels. A firing
    // that raced with the read's completion belongs to an old generation: ignore it.
    if (ec || session->request_generation != generation) return;
    session->request_timed_out = true;
    beast::error_code ignored;
    session->stream.socket().cancel(ignored);
  });
  session->stream.expires_never();
  auto [ec, n] = co_await http::async_read(session->stream, buffer, parser, kAsTuple);
  ++session->request_generation;
  session->request_timer.cancel();
  if (ec == asio::error::operation_aborted && session->request_timed_out) {
    ec = beast::error::timeout;
  }
  co_return ec;
}

asio::awaitable<void> serve(std::shared_ptr<State> state, std::shared_ptr<Session> session) {
  const auto& opt = state->options;
  auto& stream = session->stream;
  // The buffer may hold one full request plus the start of a pipelined next one.
  beast::flat_buffer buffer(opt.max_header_bytes + opt.max_body_bytes + 4096);
  bool first = true;
  for (;;) {
    session->waiting();
    if (buffer.size() == 0) {
      // Waiting for a request to start. A new connection gets only header_timeout, so idle
      // connections cannot pile up against max_connections; between keep-alive requests it is
      // idle_timeout. Closing on expiry is right here: there is no request to answer.
      stream.expires_after(first ? opt.header_timeout : opt.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kAsTuple);
      if (ec) break;
      buffer.commit(n);
      session->waiting();  // the request deadline starts with its first byte
    }
    first = false;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(opt.max_body_bytes);
    const auto ec = co_await read_request(session, buffer, parser, opt.header_timeout);
    if (ec == http::error::end_of_stream) break;
    session->evictable.store(false, std::memory_order_relaxed);
    std::optional<HttpResponse> refusal;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      refusal = detail::json_error(431, "request_too_large", "request headers are too large");
    } else if (ec == http::error::body_limit) {
      refusal = detail::json_error(413, "request_too_large", "request body is too large");
    } else if (ec == beast::error::timeout) {
      refusal = detail::json_error(408, "request_timeout", "request not received in time");
    } else if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
      refusal = detail::json_error(400, "bad_request", "malformed HTTP request");
    }
    if (refusal) {
      auto res = to_beast(std::move(*refusal), 11, false);
      stream.expires_after(opt.write_timeout);
      co_await http::async_write(stream, res, kAsTuple);
      co_await linger_close(stream);
      co_return;
    }
    if (ec) break;  // reset, closed by stop(), ...

    auto& req = parser.get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    if (auto it = req.find(http::field::authorization); it != req.end()) {
      request.authorization = std::string(it->value());
    }
    if (auto it = req.find(http::field::host); it != req.end()) {
      request.host = std::string(it->value());
    }
    const bool keep_alive = req.keep_alive();
    auto res = to_beast(state->router.handle(request), req.version(), keep_alive);
    stream.expires_after(opt.write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kAsTuple);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

// Closes a session from any thread: the close runs on the session's strand.
void close_on_strand(const std::shared_ptr<Session>& s) {
  asio::post(s->stream.get_executor(), [s] {
    beast::error_code ignored;
    s->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    s->stream.close();
  });
}

// At the cap: makes room by closing the connection that has waited longest for a request (see
// AdminServerOptions::max_connections). False when every connection is busy answering.
bool evict_one(const std::shared_ptr<State>& state) {
  std::shared_ptr<Session> victim;
  std::int64_t oldest = 0;
  std::lock_guard lock(state->mutex);
  if (state->stopped) return false;
  for (auto& [id, weak] : state->sessions) {
    auto s = weak.lock();
    if (!s || s->evicting || !s->evictable.load(std::memory_order_relaxed)) continue;
    const auto since = s->waiting_since.load(std::memory_order_relaxed);
    if (!victim || since < oldest) {
      victim = std::move(s);
      oldest = since;
    }
  }
  if (!victim) return false;
  victim->evicting = true;
  close_on_strand(victim);
  return true;
}

void start_session(const std::shared_ptr<State>& state, tcp::socket socket) {
  auto session = std::make_shared<Session>(std::move(socket));
  std::uint64_t id = 0;
  {
    std::lock_guard lock(state->mutex);
    if (state->stopped) return;
    id = state->next_session++;
    state->sessions.emplace(id, session);
  }
  state->open_connections.fetch_add(1, std::memory_order_relaxed);
  auto ex = session->stream.get_executor();
  asio::co_spawn(ex, serve(state, session), [state, id](std::exception_ptr) {
    // An exception here (e.g. bad_alloc) ends only this connection: the server keeps serving.
    state->open_connections.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(state->mutex);
    state->sessions.erase(id);
  });
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
  for (;;) {
    // Each connection gets its own strand, so stop() can close its socket without racing it.
    asio::any_io_executor strand = asio::make_strand(state->executor);
    auto [ec, socket] = co_await state->acceptor.async_accept(strand, kAsTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
      // Out of file descriptors or similar: back off instead of spinning.
      asio::steady_timer pause(state->acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    // Sessions being evicted still count until their strand closes them (a moment), so the
    // count may pass the cap by the evictions in flight, never by more.
    if (state->open_connections.load(std::memory_order_relaxed) >= state->options.max_connections &&
        !evict_one(state)) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    start_session(state, std::move(socket));
  }
}

Result<std::shared_ptr<State>> listen(asio::any_io_executor executor, AdminServerOptions options,
                                      std::shared_ptr<const PoolRegistry> pools,
                                      std::shared_ptr<const MetricsRegistry> metrics) {
  if (options.header_timeout.count() <= 0 || options.idle_timeout.count() <= 0 ||
      options.write_timeout.count() <= 0) {
    return fail(errc::invalid_argument, "admin server timeouts must be > 0");
  }
  if (options.protect_all && options.bearer_token.empty()) {
    return fail(errc::invalid_argument,
                "admin server protect_all needs a bearer token (admin.token)");
  }
  if (options.max_header_bytes < 512 || options.max_connections == 0) {
    return fail(errc::invalid_argument,
                "admin server max_header_bytes must be >= 512 and max_connections >= 1");
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.bind_address, ec);
  if (ec) {
    return fail(errc::invalid_argument,
                "admin server bind address '" + options.bind_address + "' is not an IP address");
  }
  auto state =
      std::make_shared<State>(executor, std::move(options), std::move(pools), std::move(metrics));
  const tcp::endpoint endpoint(address, state->options.port);
  auto& acceptor = state->acceptor;
  const auto where = [&] {
    return state->options.bind_address + ":" + std::to_string(state->options.port);
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return fail(errc::io_error, "admin server: open: " + ec.message());
  }
  // Lets a restarted server bind while old connections sit in TIME_WAIT.
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    return fail(errc::io_error, "admin server: bind " + where() + ": " + ec.message());
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return fail(errc::io_error, "admin server: listen " + where() + ": " + ec.message());
  }
  const auto local = acceptor.local_endpoint(ec);
  state->port = local.port();
  state->bound_address = local.address().to_string() + ":" + std::to_string(local.port());
  asio::co_spawn(acceptor.get_executor(), accept_loop(state), [](std::exception_ptr) {});
  return state;
}

}  // namespace

Result<AdminServer> AdminServer::start(asio::any_io_executor executor, AdminServerOptions options,
                                       std::shared_ptr<const PoolRegistry> pools,
                                       std::shared_ptr<const MetricsRegistry> metrics) {
  try {
    auto state =
        listen(std::move(executor), std::move(options), std::move(pools), std::move(metrics));
    if (!state) return std::move(state).error();
    return AdminServer(nullptr, std::move(*state));
  } catch (const std::exception& e) {
    return fail(errc::internal, std::string("admin server: ") + e.what());
  }
}

Result<AdminServer> AdminServer::start_on_own_thread(
    AdminServerOptions options, std::shared_ptr<const PoolRegistry> pools,
    std::shared_ptr<const MetricsRegistry> metrics) {
  try {
    auto thread = std::make_unique<Thread>();
    auto state =
        listen(thread->io.get_executor(), std::move(options), std::move(pools), std::move(metrics));
    if (!state) return std::move(state).error();
    thread->thread = std::thread([io = &thread->io] {
      // Handlers do not throw (every coroutine catches), but a throwing run() must not take the
      // process down with std::terminate from a thread.
      for (;;) {
        try {
          io->run();
          return;
        } catch (...) {
        }
      }
    });
    return AdminServer(std::move(thread), std::move(*state));
  } catch (const std::exception& e) {
    return fail(errc::internal, std::string("admin server: ") + e.what());
  }
}

AdminServer::AdminServer(std::unique_ptr<Thread> thread, std::shared_ptr<State> state) noexcept
    : thread_(std::move(thread)), state_(std::move(state)) {}

AdminServer::AdminServer(AdminServer&&) noexcept = default;

AdminServer& AdminServer::operator=(AdminServer&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
    thread_ = std::move(other.thread_);
  }
  return *this;
}

AdminServer::~AdminServer() {
  stop();
}

std::uint16_t AdminServer::port() const noexcept {
  return state_ ? state_->port : 0;
}

std::string AdminServer::address() const {
  return state_ ? state_->bound_address : std::string();
}

void AdminServer::stop() noexcept {
  if (state_) {
    std::vector<std::shared_ptr<Session>> sessions;
    bool first = false;
    {
      std::lock_guard lock(state_->mutex);
      first = !state_->stopped;
      state_->stopped = true;
      for (auto& [id, weak] : state_->sessions) {
        if (auto s = weak.lock()) sessions.push_back(std::move(s));
      }
    }
    if (first) {
      try {
        asio::post(state_->acceptor.get_executor(), [state = state_] {
          beast::error_code ignored;
          state->acceptor.close(ignored);
        });
        for (auto& s : sessions) close_on_strand(s);
      } catch (...) {
        // post() only throws on allocation failure; the sockets then close with the io_context.
      }
    }
  }
  if (thread_ && thread_->thread.joinable()) {
    thread_->work.reset();
    if (thread_->thread.get_id() != std::this_thread::get_id()) {
      thread_->thread.join();
    } else {
      thread_->thread.detach();  // misuse (stop() from a handler); never std::terminate
    }
  }
}

}  // namespace connpool::monitor
