// The Asio driver of the proxy: accepts clients, feeds their bytes to a Session and executes
// its actions over the upstream redis::Client (see proxy_server.hpp, session.hpp).
#include "connpool/proxy/proxy_server.hpp"

#include "connpool/proxy/resp_writer.hpp"
#include "connpool/redis/subscriber.hpp"

#include "cluster_upstream.hpp"
#include "metrics.hpp"
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <list>
#include <mutex>

namespace connpool::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct ProxyServer::Impl : std::enable_shared_from_this<ProxyServer::Impl> {
  Impl(asio::any_io_executor ex, redis::Client client, ProxyOptions opts)
      : executor(std::move(ex)), upstream(std::move(client)), options(std::move(opts)) {}

  asio::any_io_executor executor;
  redis::Client upstream;
  ProxyOptions options;
  // Set when the upstream is a Redis Cluster: forward actions go through it.
  std::shared_ptr<detail::ClusterUpstream> cluster;
  std::size_t max_pinned = 0;
  Metrics metrics;
  std::vector<ListenAddress> bound;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::unique_ptr<unix_socket::acceptor>> unix_acceptors;
  std::atomic<bool> stopped{false};
  // Every live client's "close" function, so stop() can disconnect them all.
  std::mutex clients_mutex;
  std::list<std::function<void()>> clients;

  template <class Acceptor>
  asio::awaitable<void> accept_loop(Acceptor& acceptor);
  template <class Socket>
  asio::awaitable<void> serve_client(Socket socket);
  template <class Conn>
  asio::awaitable<void> execute(Conn& conn, Action& action);
  template <class Conn>
  asio::awaitable<void> forward(Conn& conn, Action& action);
  template <class Conn>
  asio::awaitable<void> forward_cluster(Conn& conn, Action& action);
  template <class Conn>
  asio::awaitable<void> run_pubsub(Conn& conn, Action& action);
  template <class Conn>
  asio::awaitable<void> release_pin(Conn& conn, std::vector<std::vector<std::string>> reset);
  bool take_pin_slot() {
    if (metrics.pinned.fetch_add(1) + 1 > max_pinned) {
      metrics.pinned.fetch_sub(1);
      return false;
    }
    return true;
  }
  void stop();
};

namespace {

// One client's connection: the Session plus what the driver holds for it (socket, pinned lease,
// subscriber, writer signal). Lives in the client's coroutine frame and the writer's.
template <class Socket>
struct ClientConn : std::enable_shared_from_this<ClientConn<Socket>> {
  ClientConn(Socket s, const SessionOptions& o)
      : socket(std::move(s)), session(o), idle(socket.get_executor()) {}
  Socket socket;
  Session session;
  asio::steady_timer idle;
  std::string writing_now;  // the bytes of the write in flight (kept alive until it completes)
  bool writing = false;
  std::optional<redis::RedisLease> pinned;
  detail::ClusterPin cluster_pin;  // with a cluster upstream: the pinned node and slot
  // Shared with the pump coroutine, which may still be inside receive() when it goes.
  std::shared_ptr<redis::Subscriber> subscriber;
  bool done = false;
  bool quit = false;      // a pinned connection failed: the client's server state is lost
  bool blocking = false;  // a blocking command is in flight: idle timeout does not apply
  Clock::time_point last_activity = Clock::now();

  void close() {
    done = true;
    boost::system::error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
    idle.cancel();
    if (subscriber) subscriber->close();
  }
  // One write at a time, of everything queued since the last one began: replies of pipelined
  // commands and Pub/Sub messages leave in few syscalls. A plain completion handler rather than
  // a writer coroutine: no timer to wake it, which is measurable per request.
  void start_write() {
    if (writing || done || session.output_size() == 0) return;
    writing = true;
    writing_now = session.take_output();
    session.set_in_write(writing_now.size());
    write_now();
  }
  // Writes writing_now (writing is set), then whatever was queued meanwhile.
  void write_now() {
    asio::async_write(socket, asio::buffer(writing_now),
                      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing = false;
                        self->session.set_in_write(0);
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->start_write();
                      });
  }
  // As emit(), for bytes the caller gives up (a batch's replies): when nothing is queued or
  // being written they are written as they are, without a copy into the output queue.
  bool emit_owned(std::string&& bytes) {
    if (done || writing || session.output_size() > 0 || session.overflowed()) return emit(bytes);
    if (bytes.empty()) return true;
    if (bytes.size() > session.output_room()) {
      session.overflow();
      close();
      return false;
    }
    writing = true;
    writing_now = std::move(bytes);
    session.set_in_write(writing_now.size());
    write_now();
    return true;
  }
  // Appends bytes for the client; a client over its output bound is disconnected.
  bool emit(std::string_view bytes) {
    if (done) return false;
    if (!session.append_output(bytes)) {
      close();
      return false;
    }
    start_write();
    return true;
  }
};

template <class Conn>
asio::awaitable<void> idle_watch(std::shared_ptr<Conn> conn, std::chrono::milliseconds limit,
                                 Metrics* metrics) {
  while (!conn->done) {
    conn->idle.expires_at(conn->last_activity + limit);
    boost::system::error_code ec;
    co_await conn->idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (conn->done) co_return;
    if (conn->blocking || conn->session.subscribed()) {
      conn->last_activity = Clock::now();
      continue;
    }
    if (Clock::now() - conn->last_activity >= limit) {
      metrics->idle_closed.fetch_add(1, std::memory_order_relaxed);
      conn->close();
      co_return;
    }
  }
}

std::string render_message(const redis::Message& m) {
  std::string out;
  if (m.kind == redis::Message::Kind::pmessage) {
    append_array_header(out, 4);
    append_bulk(out, "pmessage");
    append_bulk(out, m.pattern);
  } else {
    append_array_header(out, 3);
    append_bulk(out, "message");
  }
  append_bulk(out, m.channel);
  append_bulk(out, m.payload);
  return out;
}

template <class Conn>
asio::awaitable<void> pubsub_pump(std::shared_ptr<Conn> conn,
                                  std::shared_ptr<redis::Subscriber> subscriber) {
  while (!conn->done && conn->subscriber == subscriber) {
    auto m = co_await subscriber->receive();
    if (!m) co_return;  // closed (unsubscribed or client gone)
    if (m->kind == redis::Message::Kind::reconnected) continue;
    if (!conn->emit(render_message(*m))) co_return;
  }
}

// While a blocking command waits (BLPOP k 0 may wait forever), the driver is not reading the
// client: without this, a client that hangs up would keep its exclusive connection until the
// command returns. When the socket becomes readable and a peek says EOF, the upstream connection
// is closed, which fails the command at once and sends the connection to be discarded (it
// cannot be reused: the server is still blocked in the command).
struct HangupWatch {
  bool active = true;
};

template <class Conn>
std::shared_ptr<HangupWatch> watch_hangup(Conn& conn, redis::Connection& upstream) {
  auto watch = std::make_shared<HangupWatch>();
  conn.socket.async_wait(asio::socket_base::wait_read, [watch, self = conn.shared_from_this(),
                                                        &upstream](boost::system::error_code ec) {
    if (ec || !watch->active) return;  // the command finished first: the lease may be gone
    char byte = 0;
    const auto n = ::recv(self->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) upstream.close();  // EOF; data (a pipelined command) just waits its turn
  });
  return watch;
}

std::string failure_line(const Error& e) {
  return error_line("ERR connpool proxy: upstream " + std::string(to_string(e.code())) + ": " +
                    e.message());
}

}  // namespace

ProxyServer::ProxyServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProxyServer::~ProxyServer() {
  impl_->stop();
}
void ProxyServer::stop() {
  impl_->stop();
}
std::vector<ListenAddress> ProxyServer::endpoints() const {
  return impl_->bound;
}
ProxyStats ProxyServer::stats() const {
  return impl_->metrics.snapshot();
}
const ProxyOptions& ProxyServer::options() const noexcept {
  return impl_->options;
}
const redis::Client& ProxyServer::upstream() const noexcept {
  return impl_->upstream;
}

void ProxyServer::Impl::stop() {
  if (stopped.exchange(true)) return;
  asio::post(executor, [self = shared_from_this()] {
    boost::system::error_code ignored;
    for (auto& a : self->tcp_acceptors) a->close(ignored);
    for (auto& a : self->unix_acceptors) a->close(ignored);
    for (const auto& addr : self->bound) {
      if (addr.kind == ListenAddress::Kind::unix_socket) ::unlink(addr.path.c_str());
    }
    std::list<std::function<void()>> all;
    {
      std::lock_guard lock(self->clients_mutex);
      all = self->clients;
    }
    for (auto& close : all) close();
  });
}

template <class Acceptor>
asio::awaitable<void> ProxyServer::Impl::accept_loop(Acceptor& acceptor) {
  auto self = shared_from_this();
  while (!stopped) {
    // Each client gets its own strand, so a multi-threaded io_context serves clients in parallel
    // (on one thread the strand is pure overhead, see ProxyOptions::strand_per_client).
    asio::any_io_executor strand =
        options.strand_per_client ? asio::any_io_executor(asio::make_strand(executor)) : executor;
    typename Acceptor::protocol_type::socket socket(strand);
    auto [ec] = co_await acceptor.async_accept(socket, use_nothrow);
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: wait a little instead of spinning.
      asio::steady_timer t(executor, std::chrono::milliseconds(50));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    if (metrics.connected.load() >= options.max_clients) {
      metrics.rejected.fetch_add(1, std::memory_order_relaxed);
      static constexpr std::string_view kFull = "-ERR max number of clients reached\r\n";
      boost::system::error_code ignored;
      asio::write(socket, asio::buffer(kFull), ignored);  // a small write to a fresh socket
      socket.close(ignored);
      continue;
    }
    if constexpr (std::is_same_v<typename Acceptor::protocol_type, tcp>) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
    }
    asio::co_spawn(strand, self->serve_client(std::move(socket)), asio::detached);
  }
}

template <class Socket>
asio::awaitable<void> ProxyServer::Impl::serve_client(Socket socket) {
  auto self = shared_from_this();
  using Conn = ClientConn<Socket>;
  auto conn = std::make_shared<Conn>(std::move(socket), options.session);
  auto ex = conn->socket.get_executor();
  metrics.connected.fetch_add(1);
  metrics.total.fetch_add(1, std::memory_order_relaxed);
  std::list<std::function<void()>>::iterator registration;
  {
    std::lock_guard lock(clients_mutex);
    registration = clients.insert(clients.end(), [ex, weak = std::weak_ptr<Conn>(conn)] {
      asio::post(ex, [weak] {
        if (auto c = weak.lock()) c->close();
      });
    });
  }
  if (stopped) conn->close();
  if (options.idle_timeout.count() > 0) {
    asio::co_spawn(ex, idle_watch(conn, options.idle_timeout, &metrics), asio::detached);
  }

  std::array<char, 16384> buffer;
  while (!conn->done) {
    while (!conn->done) {
      auto action = conn->session.next();
      if (!action) break;
      // The action stays in this frame while it runs (no move into another); a plain forward,
      // the common case, skips execute()'s frame.
      if (action->kind == Action::Kind::forward && !cluster) {
        co_await forward(*conn, *action);
      } else {
        co_await execute(*conn, *action);
      }
      if (conn->quit) break;
    }
    if (conn->done || conn->quit || conn->session.closing()) break;
    auto [ec, n] = co_await conn->socket.async_read_some(asio::buffer(buffer), use_nothrow);
    if (ec) break;
    conn->last_activity = Clock::now();
    conn->session.feed(std::string_view(buffer.data(), n));
  }

  // The client is gone (or told to go): its pinned connection is cleaned before it goes back.
  if (conn->pinned) {
    auto reset = conn->session.reset_commands();
    co_await release_pin(*conn, std::move(reset));
  }
  if (conn->subscriber) {
    conn->subscriber->close();
    conn->subscriber.reset();
    metrics.subscribed.fetch_sub(1);
  }
  (void)self;
  // Give the writer the chance to flush the last replies (QUIT's +OK) before closing.
  if (!conn->done && (conn->session.output_size() > 0 || conn->writing)) {
    asio::steady_timer t(ex, std::chrono::milliseconds(1));
    for (int i = 0; i < 1000 && (conn->session.output_size() > 0 || conn->writing) && !conn->done;
         ++i) {
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(use_nothrow);
    }
  }
  if (conn->session.overflowed()) metrics.overflowed.fetch_add(1, std::memory_order_relaxed);
  conn->close();
  metrics.connected.fetch_sub(1);
  {
    std::lock_guard lock(clients_mutex);
    clients.erase(registration);
  }
}

template <class Conn>
asio::awaitable<void> ProxyServer::Impl::execute(Conn& conn, Action& action) {
  switch (action.kind) {
    case Action::Kind::reply:
      if (action.refused_rule.empty()) {
        metrics.local.fetch_add(1, std::memory_order_relaxed);
      } else {
        metrics.refuse(action.refused_rule);
      }
      conn.emit(action.bytes);
      co_return;
    case Action::Kind::close:
      co_return;  // the read loop sees session.closing()
    case Action::Kind::forward:
      if (cluster) {
        co_await forward_cluster(conn, action);
      } else {
        co_await forward(conn, action);
      }
      co_return;
    case Action::Kind::pubsub:
      co_await run_pubsub(conn, action);
      co_return;
    case Action::Kind::reset:
      metrics.local.fetch_add(1, std::memory_order_relaxed);
      co_await release_pin(conn, std::move(action.reset));
      conn.cluster_pin = {};
      if (conn.subscriber) {
        conn.subscriber->close();
        conn.subscriber.reset();
        metrics.subscribed.fetch_sub(1);
      }
      conn.emit(action.bytes);
      co_return;
  }
}

template <class Conn>
asio::awaitable<void> ProxyServer::Impl::forward(Conn& conn, Action& action) {
  const auto started = Clock::now();
  const std::size_t n = action.count;
  // The client's own request bytes go upstream and the server's reply bytes come back as they
  // are: no re-encoding either way (the session checked every request).
  redis::RequestBatch batch;
  batch.append_wire(action.wire, n);
  // Blocking commands wait as long as the client asked (BLPOP k 0: forever).
  std::optional<std::chrono::milliseconds> timeout;
  if (action.no_timeout) timeout = std::chrono::milliseconds(0);
  // Replies beyond what the client's output can take are not gathered at all: a client that
  // pipelines GETs of large values and does not read is cut off once they pass
  // max_output_bytes, not after the proxy has held all of them (up to max_batch replies of
  // max_reply_bytes each) or waited for them past the command timeout.
  const std::size_t room = conn.session.output_room();

  Result<redis::RawReplies> replies = Error(errc::unknown, "not sent");
  bool pin_refused = false;
  if (action.target == Target::shared) {
    auto lease = co_await upstream.pool().acquire();
    if (!lease) {
      replies = std::move(lease).error();
    } else {
      replies = co_await (*lease)->execute_raw(std::move(batch), timeout, room);
      if ((*lease)->broken()) lease->discard();
    }
  } else if (action.target == Target::exclusive_once) {
    if (!take_pin_slot()) {
      pin_refused = true;
    } else {
      auto lease = co_await upstream.exclusive_pool().acquire();
      if (!lease) {
        replies = std::move(lease).error();
      } else {
        conn.blocking = true;
        auto watch = watch_hangup(conn, **lease);
        replies = co_await (*lease)->execute_raw(std::move(batch), timeout, room);
        watch->active = false;
        conn.blocking = false;
        if ((*lease)->broken()) lease->discard();
      }
      metrics.pinned.fetch_sub(1);
    }
  } else {
    if (!conn.pinned) {
      if (!take_pin_slot()) {
        pin_refused = true;
      } else {
        auto lease = co_await upstream.exclusive_pool().acquire();
        if (!lease) {
          metrics.pinned.fetch_sub(1);
          replies = std::move(lease).error();
        } else {
          conn.pinned.emplace(std::move(*lease));
        }
      }
    }
    if (conn.pinned) {
      conn.blocking = action.no_timeout;
      std::shared_ptr<HangupWatch> watch;
      if (action.no_timeout) watch = watch_hangup(conn, **conn.pinned);
      replies = co_await (*conn.pinned)->execute_raw(std::move(batch), timeout, room);
      if (watch) watch->active = false;
      conn.blocking = false;
      if (!replies || (*conn.pinned)->broken()) {
        // The client's transaction / WATCH / db lives on that connection: it is gone, so the
        // client is disconnected after its error replies (as if the server had closed it).
        conn.pinned->discard();
        conn.pinned.reset();
        metrics.pinned.fetch_sub(1);
        conn.session.clear_pin();
        conn.quit = true;
      } else if (action.release_after) {
        conn.pinned.reset();
        metrics.pinned.fetch_sub(1);
      }
    } else {
      conn.session.clear_pin();  // never reached the server: no state to keep
    }
  }

  std::string out;
  if (pin_refused) {
    const std::string line =
        error_line("ERR connpool proxy: too many pinned clients (rule: max-pinned, limit " +
                   std::to_string(max_pinned) + ")");
    for (std::size_t i = 0; i < n; ++i) out += line;
    for (std::size_t i = 0; i < n; ++i) metrics.refuse("max-pinned");
  } else if (!replies && replies.error().code() == errc::resource_exhausted) {
    conn.session.overflow();  // over `room`: disconnected as when a reply does not fit
    conn.close();
    co_return;
  } else if (!replies) {
    const std::string line = failure_line(replies.error());
    for (std::size_t i = 0; i < n; ++i) out += line;
    metrics.failed.fetch_add(n, std::memory_order_relaxed);
  } else {
    out = std::move(replies->bytes);
    metrics.error.fetch_add(replies->errors, std::memory_order_relaxed);
    metrics.ok.fetch_add(replies->count - replies->errors, std::memory_order_relaxed);
  }
  const auto elapsed = Clock::now() - started;
  for (std::size_t i = 0; i < n; ++i) metrics.latency.record(elapsed);
  conn.emit_owned(std::move(out));
}

// A Redis Cluster upstream (cluster_upstream.hpp) with this client's pin and hang-up watch.
template <class Conn>
asio::awaitable<void> ProxyServer::Impl::forward_cluster(Conn& conn, Action& action) {
  detail::ClientRefs refs{
      .pinned = conn.pinned,
      .pin = conn.cluster_pin,
      .session = conn.session,
      .metrics = metrics,
      .take_pin_slot = [this] { return take_pin_slot(); },
      .max_pinned = max_pinned,
      .watch_hangup = [&conn](redis::Connection& upstream_conn) -> std::function<void()> {
        auto watch = watch_hangup(conn, upstream_conn);
        return [watch] { watch->active = false; };
      },
      .blocking = conn.blocking,
      .room = conn.session.output_room(),
  };
  auto outcome = co_await cluster->forward(action, std::move(refs));
  if (outcome.overflow) {
    conn.session.overflow();  // over its output room: disconnected as a slow reader
    conn.close();
    co_return;
  }
  if (outcome.quit) conn.quit = true;
  conn.emit_owned(std::move(outcome.bytes));
}

template <class Conn>
asio::awaitable<void> ProxyServer::Impl::run_pubsub(Conn& conn, Action& action) {
  if (action.pubsub_started) {
    // A subscribed connection is stateful for good: the client gets one of its own, outside
    // the pool (as redis::Subscriber always is), which resubscribes after a reconnect.
    // Through a cluster: any node, moving on to the next when it goes away. (No co_await
    // inside a conditional expression: GCC mis-compiles its temporaries.)
    Result<redis::Subscriber> sub = Error(errc::unavailable, "no subscriber");
    if (cluster) {
      auto endpoints = co_await cluster->pubsub_endpoints();
      sub = redis::Subscriber::create(executor, std::move(endpoints));
    } else {
      sub = redis::Subscriber::create(upstream);
    }
    if (!sub) {
      conn.emit(failure_line(sub.error()));
      conn.quit = true;
      co_return;
    }
    conn.subscriber = std::make_shared<redis::Subscriber>(std::move(*sub));
    metrics.subscribed.fetch_add(1);
  }
  Result<void> done{};
  if (conn.subscriber && !action.names.empty()) {
    switch (action.op) {
      case CommandKind::subscribe:
        done = co_await conn.subscriber->subscribe(action.names);
        break;
      case CommandKind::psubscribe:
        done = co_await conn.subscriber->psubscribe(action.names);
        break;
      case CommandKind::unsubscribe:
        done = co_await conn.subscriber->unsubscribe(action.names);
        break;
      default:
        done = co_await conn.subscriber->punsubscribe(action.names);
        break;
    }
  }
  if (!done) {
    conn.emit(failure_line(done.error()));
    conn.quit = true;  // the client's idea of its subscriptions may be wrong now
    co_return;
  }
  metrics.local.fetch_add(1, std::memory_order_relaxed);
  conn.emit(action.bytes);
  if (action.pubsub_started && conn.subscriber) {
    // Started after the first confirmation went out, so no message can overtake it.
    auto self = shared_from_this();
    asio::co_spawn(conn.socket.get_executor(),
                   pubsub_pump(conn.shared_from_this(), conn.subscriber), asio::detached);
  }
  if (action.pubsub_ended && conn.subscriber) {
    conn.subscriber->close();
    conn.subscriber.reset();
    metrics.subscribed.fetch_sub(1);
  }
}

template <class Conn>
asio::awaitable<void> ProxyServer::Impl::release_pin(Conn& conn,
                                                     std::vector<std::vector<std::string>> reset) {
  if (!conn.pinned) co_return;
  auto& connection = *conn.pinned;
  if (!reset.empty() && !connection->broken()) {
    redis::RequestBatch batch;
    std::vector<std::string_view> views;
    for (const auto& command : reset) {
      views.assign(command.begin(), command.end());
      batch.add(views);
    }
    // Error replies are fine here (DISCARD when the server had refused the MULTI); only a
    // failed connection must not go back.
    auto replies = co_await connection->execute(batch);
    if (!replies) connection->close();
  }
  if (connection->broken()) conn.pinned->discard();
  conn.pinned.reset();
  metrics.pinned.fetch_sub(1);
  conn.session.clear_pin();
}

Result<std::shared_ptr<ProxyServer>> ProxyServer::start(asio::any_io_executor executor,
                                                        redis::Client upstream,
                                                        ProxyOptions options) {
  return start_with(std::move(executor), std::move(upstream), std::move(options), nullptr);
}

Result<std::shared_ptr<ProxyServer>> ProxyServer::start(asio::any_io_executor executor,
                                                        redis::cluster::ClusterClient upstream,
                                                        ProxyOptions options) {
  // The first seed's Client only gives the node pools' settings (max_pinned's default, a node
  // pool's max_size): commands go through the ClusterUpstream, Pub/Sub to any node
  // (ClusterUpstream::pubsub_endpoints).
  const auto& url = upstream.url();
  core::PoolOptions seed_options;
  seed_options.name = options.name + "-seed";
  auto seed = redis::Client::create(executor, url.node_url(url.seeds.front()), seed_options);
  if (!seed) return std::move(seed).error().with_context("proxy '" + options.name + "'");
  options.session.rules.cluster = true;
  return start_with(std::move(executor), std::move(*seed), std::move(options),
                    std::make_shared<detail::ClusterUpstream>(std::move(upstream)));
}

Result<std::shared_ptr<ProxyServer>> ProxyServer::start_with(
    asio::any_io_executor executor, redis::Client upstream, ProxyOptions options,
    std::shared_ptr<detail::ClusterUpstream> cluster) {
  const std::string who = "proxy '" + options.name + "': ";
  if (options.listen.empty()) return Error(errc::invalid_config, who + "no listen address");
  if (options.max_clients == 0) return Error(errc::invalid_config, who + "max_clients must be > 0");
  if (options.session.max_output_bytes == 0 || options.session.max_batch == 0 ||
      options.session.limits.max_request_bytes == 0 || options.session.limits.max_args == 0) {
    return Error(errc::invalid_config,
                 who + "max_output_bytes, max_request_bytes and max_args must be > 0");
  }
  options.session.upstream_db = upstream.url().db;
  // Only a cluster upstream routes by the arguments; otherwise the request bytes are relayed.
  options.session.keep_commands = cluster != nullptr;
  auto impl = std::make_shared<Impl>(executor, std::move(upstream), std::move(options));
  impl->cluster = std::move(cluster);
  impl->max_pinned = impl->options.max_pinned > 0
                         ? impl->options.max_pinned
                         : impl->upstream.exclusive_pool().config().max_size;
  for (const auto& addr : impl->options.listen) {
    boost::system::error_code ec;
    const auto fail = [&](std::string_view what) {
      return Error(errc::connect_failed, who + "cannot listen on " + addr.to_string() + ": " +
                                             std::string(what) + ": " + ec.message());
    };
    if (addr.kind == ListenAddress::Kind::tcp) {
      const auto ip = asio::ip::make_address(addr.host, ec);
      if (ec) {
        return Error(errc::invalid_argument,
                     who + "listen host '" + addr.host + "' is not a numeric IP address");
      }
      auto acceptor = std::make_unique<tcp::acceptor>(executor);
      const tcp::endpoint endpoint(ip, addr.port);
      acceptor->open(endpoint.protocol(), ec);
      if (ec) return fail("open");
      acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      acceptor->bind(endpoint, ec);
      if (ec) return fail("bind");
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return fail("listen");
      ListenAddress bound = addr;
      bound.port = acceptor->local_endpoint(ec).port();
      impl->bound.push_back(bound);
      impl->tcp_acceptors.push_back(std::move(acceptor));
    } else {
      // A socket file left by a previous run would make bind fail; anything else is kept.
      struct stat st {};
      if (::lstat(addr.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(addr.path.c_str());
      auto acceptor = std::make_unique<unix_socket::acceptor>(executor);
      acceptor->open(unix_socket(), ec);
      if (ec) return fail("open");
      acceptor->bind(unix_socket::endpoint(addr.path), ec);
      if (ec) return fail("bind");
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return fail("listen");
      impl->bound.push_back(addr);
      impl->unix_acceptors.push_back(std::move(acceptor));
    }
  }
  for (auto& a : impl->tcp_acceptors) {
    asio::co_spawn(executor, impl->accept_loop(*a), asio::detached);
  }
  for (auto& a : impl->unix_acceptors) {
    asio::co_spawn(executor, impl->accept_loop(*a), asio::detached);
  }
  return std::shared_ptr<ProxyServer>(new ProxyServer(std::move(impl)));
}

}  // namespace connpool::proxy
