// The fault proxy itself, against a tiny echo server: every fault does what it says.
#include "support/fault_proxy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <thread>

namespace connpool::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A blocking echo server on its own thread (one connection at a time is enough here).
class EchoServer {
 public:
  EchoServer() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      for (;;) {
        tcp::socket s(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stopping_) return;
        std::thread([sock = std::move(s)]() mutable {
          std::array<char, 4096> buf{};
          boost::system::error_code e;
          for (;;) {
            const std::size_t n = sock.read_some(asio::buffer(buf), e);
            if (e) return;
            asio::write(sock, asio::buffer(buf.data(), n), e);
            if (e) return;
          }
        }).detach();
      }
    });
  }
  ~EchoServer() {
    // A blocking accept() is woken by a connection, not by closing the socket elsewhere.
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(ioc_);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ec);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

struct Client {
  asio::io_context ioc;
  tcp::socket sock{ioc};
  explicit Client(std::uint16_t port) {
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // Sends `text`, waits up to `limit` for the echo; returns what came back.
  std::string roundtrip(const std::string& text, std::chrono::milliseconds limit = 2000ms) {
    asio::write(sock, asio::buffer(text));
    std::string got(text.size(), '\0');
    std::size_t have = 0;
    bool failed = false;
    std::function<void()> read_more = [&] {
      sock.async_read_some(asio::buffer(got.data() + have, got.size() - have),
                           [&](boost::system::error_code ec, std::size_t n) {
                             if (ec) {
                               failed = true;
                               return;
                             }
                             have += n;
                             if (have < got.size()) read_more();
                           });
    };
    read_more();
    ioc.restart();
    ioc.run_for(limit);
    if (have < got.size()) {
      sock.cancel();
      ioc.restart();
      ioc.poll();
    }
    got.resize(have);
    (void)failed;
    return got;
  }
};

TEST(FaultProxy, ForwardsAndAddsLatency) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  Client c(proxy.port());
  EXPECT_EQ(c.roundtrip("hello"), "hello");
  proxy.set_latency(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.roundtrip("slow"), "slow");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);  // both directions delayed
}

TEST(FaultProxy, StallHoldsTrafficUntilReleased) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  Client c(proxy.port());
  proxy.stall(true);
  EXPECT_EQ(c.roundtrip("held", 150ms), "");
  proxy.stall(false);
  EXPECT_EQ(c.roundtrip("", 500ms), "");  // flush the loop
  std::string rest(4, '\0');
  asio::read(c.sock, asio::buffer(rest));
  EXPECT_EQ(rest, "held");
}

TEST(FaultProxy, ResetAndRefuse) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  Client c(proxy.port());
  EXPECT_EQ(c.roundtrip("x"), "x");
  EXPECT_EQ(proxy.active_connections(), 1u);
  proxy.reset_all();
  boost::system::error_code ec;
  std::array<char, 8> buf{};
  c.sock.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec == asio::error::connection_reset || ec == asio::error::eof) << ec.message();
  proxy.refuse(true);
  Client d(proxy.port());  // accepted, then reset
  d.sock.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec) << "refused connection stayed open";
}

TEST(FaultProxy, ClosesMidReply) {
  EchoServer echo;
  FaultProxy proxy("127.0.0.1", echo.port());
  proxy.close_after_server_bytes(5);
  Client c(proxy.port());
  EXPECT_EQ(c.roundtrip("0123456789", 500ms), "01234");
}

}  // namespace
}  // namespace connpool::testing
