// FakeServer: a tiny loopback TCP server for fault tests. It accepts connections one after
// another and answers every read with a fixed byte string (or never answers when it is
// empty), e.g. malformed RESP. Stops and joins its thread in the destructor.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace connpool::test {

namespace asio = boost::asio;

class FakeServer {
 public:
  explicit FakeServer(std::string answer) : answer_(std::move(answer)) {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      // Bounded: at most 64 connections over the server's life.
      for (int accepted = 0; accepted < 64 && !stop_; ++accepted) {
        boost::system::error_code ec;
        asio::ip::tcp::socket s(ctx_);
        acceptor_.accept(s, ec);
        if (ec || stop_) return;
        char buf[4096];
        while (!stop_) {
          const auto n = s.read_some(asio::buffer(buf), ec);
          if (ec || n == 0) break;
          if (!answer_.empty()) asio::write(s, asio::buffer(answer_), ec);
        }
      }
    });
  }
  ~FakeServer() {
    stop_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    // Unblock accept() or read_some() by connecting and closing.
    asio::ip::tcp::socket poke(ctx_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    poke.close(ec);
    thread_.join();
  }
  std::string url(const std::string& q) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "?" + q;
  }

 private:
  asio::io_context ctx_;
  asio::ip::tcp::acceptor acceptor_{ctx_};
  std::string answer_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace connpool::test
