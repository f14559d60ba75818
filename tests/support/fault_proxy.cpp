#include "support/fault_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace connpool::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct FaultProxy::Impl : std::enable_shared_from_this<Impl> {
  struct Link {
    tcp::socket client;
    tcp::socket server;
    std::size_t server_bytes = 0;
    explicit Link(asio::io_context& ioc) : client(ioc), server(ioc) {}
    void reset() {
      boost::system::error_code ec;
      for (tcp::socket* s : {&client, &server}) {
        if (!s->is_open()) continue;
        s->set_option(asio::socket_base::linger(true, 0), ec);
        s->close(ec);
      }
    }
  };

  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::string host;
  std::uint16_t target_port;
  std::atomic<long long> latency_ms{0};
  std::atomic<bool> stalled{false};
  std::atomic<bool> replies_stalled{false};
  std::atomic<bool> refusing{false};
  std::atomic<std::size_t> rate{0};
  std::atomic<std::size_t> close_after{0};
  std::atomic<std::size_t> active{0};
  std::atomic<std::size_t> total{0};
  std::list<std::shared_ptr<Link>> links;  // touched only on the proxy thread
  std::thread thread;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto link = std::make_shared<Link>(ioc);
      auto [ec] = co_await acceptor.async_accept(link->client, use_nothrow);
      if (ec) co_return;
      ++total;
      if (refusing) {
        link->reset();
        continue;
      }
      asio::co_spawn(ioc, serve(link), asio::detached);
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<Link> link) {
    auto self = shared_from_this();
    tcp::endpoint target(asio::ip::make_address(host), target_port);
    auto [ec] = co_await link->server.async_connect(target, use_nothrow);
    if (ec) {
      link->reset();
      co_return;
    }
    ++active;
    auto it = links.insert(links.end(), link);
    // Both directions run; when either ends, both sockets close.
    auto done = std::make_shared<int>(0);
    asio::co_spawn(ioc, pump(link, true, done, it), asio::detached);
    asio::co_spawn(ioc, pump(link, false, done, it), asio::detached);
  }

  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(ioc, d);
    co_await t.async_wait(use_nothrow);
  }

  asio::awaitable<void> pump(std::shared_ptr<Link> link, bool to_server, std::shared_ptr<int> done,
                             std::list<std::shared_ptr<Link>>::iterator it) {
    auto self = shared_from_this();
    tcp::socket& from = to_server ? link->client : link->server;
    tcp::socket& to = to_server ? link->server : link->client;
    std::array<char, 16384> buf{};
    for (;;) {
      auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), use_nothrow);
      if (rec) break;
      while (stalled || (!to_server && replies_stalled)) co_await pause(5ms);
      if (auto l = latency_ms.load(); l > 0) co_await pause(std::chrono::milliseconds(l));
      std::size_t send = n;
      bool cut = false;
      if (!to_server) {
        const std::size_t limit = close_after;
        if (limit > 0 && link->server_bytes + n >= limit) {
          send = limit > link->server_bytes ? limit - link->server_bytes : 0;
          cut = true;
        }
        link->server_bytes += send;
      }
      std::size_t sent = 0;
      while (sent < send) {
        std::size_t chunk = send - sent;
        if (const std::size_t r = rate; r > 0) {
          chunk = std::min(chunk, std::max<std::size_t>(r / 100, 1));
          co_await pause(10ms);
        }
        auto [wec, w] =
            co_await asio::async_write(to, asio::buffer(buf.data() + sent, chunk), use_nothrow);
        if (wec) break;
        sent += w;
      }
      if (cut) break;
    }
    if (++*done == 1) {
      boost::system::error_code ignored;
      link->client.close(ignored);
      link->server.close(ignored);
      links.erase(it);
      --active;
    }
  }
};

FaultProxy::FaultProxy(std::string target_host, std::uint16_t target_port)
    : impl_(std::make_shared<Impl>()) {
  impl_->host = std::move(target_host);
  impl_->target_port = target_port;
  tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(listen.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(listen);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_] { impl->ioc.run(); });
}

FaultProxy::~FaultProxy() {
  asio::post(impl_->ioc, [impl = impl_] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    for (auto& link : impl->links) link->reset();
    impl->stalled = false;
    impl->replies_stalled = false;
  });
  // Give pumps a moment to unwind, then stop.
  std::this_thread::sleep_for(20ms);
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t FaultProxy::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void FaultProxy::pass() {
  impl_->latency_ms = 0;
  impl_->stalled = false;
  impl_->replies_stalled = false;
  impl_->rate = 0;
  impl_->close_after = 0;
  impl_->refusing = false;
}
void FaultProxy::set_latency(std::chrono::milliseconds latency) {
  impl_->latency_ms = latency.count();
}
void FaultProxy::stall(bool on) {
  impl_->stalled = on;
}
void FaultProxy::stall_replies(bool on) {
  impl_->replies_stalled = on;
}
void FaultProxy::set_rate_limit(std::size_t bytes_per_second) {
  impl_->rate = bytes_per_second;
}
void FaultProxy::close_after_server_bytes(std::size_t bytes) {
  impl_->close_after = bytes;
}
void FaultProxy::refuse(bool on) {
  impl_->refusing = on;
}
void FaultProxy::reset_all() {
  // The promise is shared with the proxy thread: the waiter may return (and would destroy a
  // stack promise) while set_value() is still running there.
  auto done = std::make_shared<std::promise<void>>();
  auto ready = done->get_future();
  asio::post(impl_->ioc, [impl = impl_, done] {
    for (auto& link : impl->links) link->reset();
    done->set_value();
  });
  ready.wait();
}

std::size_t FaultProxy::active_connections() const {
  return impl_->active;
}
std::size_t FaultProxy::total_connections() const {
  return impl_->total;
}

}  // namespace connpool::testing
