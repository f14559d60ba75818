// Subscriber against a real redis-server: ordered delivery, patterns, binary payloads,
// unsubscribe, recovery after a server restart and after CLIENT KILL TYPE pubsub (resubscribed,
// gap reported), and close() while a receive is pending.
#include "connpool/redis/subscriber.hpp"

#include "connpool/redis/client.hpp"

#include "support/fault_proxy.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis {
namespace {

namespace asio = boost::asio;
using connpool::test::IoThreads;
using connpool::test::RedisServer;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

class PubSub : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string err;
    server_ = RedisServer::start({}, &err).release();
    ASSERT_NE(server_, nullptr) << err;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    auto c = Client::create(io_.executor(), server_->url("connect_timeout=300ms&min_size=1"));
    ASSERT_TRUE(c) << c.error().to_string();
    client_.emplace(std::move(*c));
  }

  Subscriber make_subscriber(SubscriberOptions options = {}) {
    options.reconnect_backoff_initial = 50ms;
    options.reconnect_backoff_max = 500ms;
    auto url = RedisUrl::parse(server_->url("connect_timeout=300ms"));
    EXPECT_TRUE(url);
    auto s = Subscriber::create(io_.executor(), *url, options);
    EXPECT_TRUE(s) << s.error().to_string();
    if (!s) throw std::runtime_error(s.error().to_string());
    return std::move(*s);
  }

  long long publish(const std::string& channel, const std::string& payload) {
    auto n = client_->wait(client_->publish(channel, payload));
    EXPECT_TRUE(n) << n.error().to_string();
    return n ? *n : -1;
  }

  // After a reconnect: publishes until the subscriber gets a message on `channel` again, so
  // the test does not depend on when the resubscription lands. Returns the reconnected
  // events seen on the way.
  int publish_until_received(Subscriber& sub, const std::string& channel) {
    int gaps = 0;
    for (int i = 0; i < 200; ++i) {
      // The client's own connections may be broken by the same event: errors are fine here.
      (void)client_->wait(client_->publish(channel, "probe"));
      for (;;) {
        auto m = sub.receive_blocking(50ms);
        if (!m) break;
        if (m->kind == Message::Kind::reconnected) {
          ++gaps;
          continue;
        }
        if (m->channel == channel) return gaps;
      }
    }
    ADD_FAILURE() << "no message on " << channel << " after reconnecting";
    return gaps;
  }

  static RedisServer* server_;
  IoThreads io_{2};
  std::optional<Client> client_;
};

RedisServer* PubSub::server_ = nullptr;

TEST_F(PubSub, MessagesArriveInOrder) {
  Subscriber sub = make_subscriber();
  auto s = sub.wait(sub.subscribe({"orders"}));
  ASSERT_TRUE(s) << s.error().to_string();
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(publish("orders", std::to_string(i)), 1);
  for (int i = 0; i < kCount; ++i) {
    auto m = sub.receive_blocking(5s);
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->kind, Message::Kind::message);
    EXPECT_EQ(m->channel, "orders");
    ASSERT_EQ(m->payload, std::to_string(i));
  }
  EXPECT_EQ(sub.reconnects(), 0u);
}

TEST_F(PubSub, PatternsCarryPatternAndChannel) {
  Subscriber sub = make_subscriber();
  auto s = sub.wait(sub.psubscribe({"news.*"}));
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(publish("sports", "not for us"), 0);
  EXPECT_EQ(publish("news.tech", "a"), 1);
  EXPECT_EQ(publish("news.art", "b"), 1);
  auto m1 = sub.receive_blocking(5s);
  ASSERT_TRUE(m1) << m1.error().to_string();
  EXPECT_EQ(m1->kind, Message::Kind::pmessage);
  EXPECT_EQ(m1->pattern, "news.*");
  EXPECT_EQ(m1->channel, "news.tech");
  EXPECT_EQ(m1->payload, "a");
  auto m2 = sub.receive_blocking(5s);
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->channel, "news.art");
  auto u = sub.wait(sub.punsubscribe({"news.*"}));
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(publish("news.tech", "after"), 0);
  auto none = sub.receive_blocking(200ms);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(errc::timeout)) << none.error().to_string();
}

TEST_F(PubSub, BinaryPayloads) {
  Subscriber sub = make_subscriber();
  const std::string channel("bin\0chan", 8);
  ASSERT_TRUE(sub.wait(sub.subscribe({channel})));
  std::string payload;
  for (int i = 0; i < 1 << 20; ++i) payload.push_back(static_cast<char>(i % 256));
  EXPECT_EQ(publish(channel, payload), 1);
  const std::string small("\0\xff\r\n", 4);
  EXPECT_EQ(publish(channel, small), 1);
  auto m = sub.receive_blocking(5s);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->channel, channel);
  EXPECT_EQ(m->payload, payload);
  auto m2 = sub.receive_blocking(5s);
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->payload, small);
}

TEST_F(PubSub, UnsubscribeStopsDelivery) {
  Subscriber sub = make_subscriber();
  ASSERT_TRUE(sub.wait(sub.subscribe({"a", "b"})));
  auto u = sub.wait(sub.unsubscribe({"a"}));
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(publish("a", "1"), 0);  // the server agrees nobody listens on "a"
  EXPECT_EQ(publish("b", "2"), 1);
  auto m = sub.receive_blocking(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "b");
  EXPECT_EQ(m->payload, "2");
  // Empty list: from everything.
  ASSERT_TRUE(sub.wait(sub.unsubscribe({})));
  EXPECT_EQ(publish("b", "3"), 0);
}

TEST_F(PubSub, ServerRestartResubscribesAndReportsTheGap) {
  Subscriber sub = make_subscriber();
  ASSERT_TRUE(sub.wait(sub.subscribe({"r1"})));
  ASSERT_TRUE(sub.wait(sub.psubscribe({"rp.*"})));
  std::string err;
  ASSERT_TRUE(server_->restart(&err)) << err;
  const int gaps = publish_until_received(sub, "r1");
  EXPECT_EQ(gaps, 1);
  EXPECT_GE(sub.reconnects(), 1u);
  // The pattern came back too.
  EXPECT_EQ(publish("rp.x", "p"), 1);
  auto m = sub.receive_blocking(5s);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->kind, Message::Kind::pmessage);
  EXPECT_EQ(m->payload, "p");
}

TEST_F(PubSub, ClientKillTypePubsubRecovers) {
  Subscriber sub = make_subscriber();
  ASSERT_TRUE(sub.wait(sub.subscribe({"k1"})));
  const std::vector<std::string> kill{"CLIENT", "KILL", "TYPE", "pubsub"};
  auto killed = client_->wait(client_->command(kill));
  ASSERT_TRUE(killed) << killed.error().to_string();
  EXPECT_GE(killed->as_integer(), 1);
  const int gaps = publish_until_received(sub, "k1");
  EXPECT_EQ(gaps, 1);
  EXPECT_EQ(sub.reconnects(), 1u);
  EXPECT_TRUE(sub.connected());
}

TEST_F(PubSub, SilentPeerIsFoundByPingAndReplaced) {
  // A proxy that stops forwarding keeps the socket open: only the health check can tell.
  connpool::testing::FaultProxy proxy("127.0.0.1", server_->port());
  SubscriberOptions options;
  options.ping_interval = 200ms;
  options.reconnect_backoff_initial = 50ms;
  options.reconnect_backoff_max = 200ms;
  auto url = RedisUrl::parse("redis://127.0.0.1:" + std::to_string(proxy.port()) +
                             "?connect_timeout=300ms");
  ASSERT_TRUE(url);
  auto sub = Subscriber::create(io_.executor(), *url, options);
  ASSERT_TRUE(sub);
  ASSERT_TRUE(sub->wait(sub->subscribe({"silent"})));
  std::this_thread::sleep_for(500ms);  // quiet, but PINGs are answered: still connected
  EXPECT_TRUE(sub->connected());
  EXPECT_EQ(sub->reconnects(), 0u);
  proxy.stall(true);
  std::optional<Error> why;
  for (int i = 0; i < 250 && sub->connected(); ++i) std::this_thread::sleep_for(20ms);
  why = sub->last_error();
  ASSERT_FALSE(sub->connected()) << "a stalled connection was not detected";
  ASSERT_TRUE(why);
  EXPECT_TRUE(why->is(errc::timeout)) << why->to_string();
  EXPECT_NE(why->message().find("PING"), std::string::npos) << why->to_string();
  proxy.pass();
  EXPECT_EQ(publish_until_received(*sub, "silent"), 1);
  EXPECT_EQ(sub->reconnects(), 1u);
}

TEST_F(PubSub, CloseWhileReceivePendingFailsCleanly) {
  Subscriber sub = make_subscriber();
  ASSERT_TRUE(sub.wait(sub.subscribe({"quiet"})));
  auto pending = asio::co_spawn(sub.executor(), sub.receive(), asio::use_future);
  EXPECT_EQ(pending.wait_for(100ms), std::future_status::timeout);
  sub.close();
  ASSERT_EQ(pending.wait_for(5s), std::future_status::ready);
  auto r = pending.get();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::cancelled)) << r.error().to_string();
  // And everything after close fails the same way, at once.
  auto again = sub.receive_blocking(5s);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(errc::cancelled));
  auto s = sub.wait(sub.subscribe({"x"}));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::cancelled));
}

TEST_F(PubSub, ServerDownSubscribeTimesOutWithTheConnectError) {
  auto url =
      RedisUrl::parse("redis://127.0.0.1:" + std::to_string(connpool::test::free_loopback_port()) +
                      "?connect_timeout=200ms");
  ASSERT_TRUE(url);
  SubscriberOptions options;
  options.confirm_timeout = 500ms;
  auto sub = Subscriber::create(io_.executor(), *url, options);
  ASSERT_TRUE(sub);
  auto s = sub->wait(sub->subscribe({"nobody"}));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::timeout)) << s.error().to_string();
  EXPECT_NE(s.error().message().find("connect"), std::string::npos) << s.error().to_string();
  EXPECT_FALSE(sub->connected());
}

TEST_F(PubSub, CreatedFromAClientUsesItsServer) {
  auto sub = Subscriber::create(*client_);
  ASSERT_TRUE(sub) << sub.error().to_string();
  ASSERT_TRUE(sub->wait(sub->subscribe({"from-client"})));
  EXPECT_EQ(publish("from-client", "hi"), 1);
  auto m = sub->receive_blocking(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "hi");
}

}  // namespace
}  // namespace connpool::redis
