// The Subscriber's state machine fed replies and a manual clock: connect, resubscribe after a
// reconnect (with the gap reported), endpoint rotation and backoff, PING health check,
// confirmations, messages and backpressure, stale sessions, close.
#include "pubsub/subscriber_machine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connpool::redis::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using State = SubscriberMachine::State;

Reply push(std::vector<std::string> parts) {
  std::vector<Reply> elements;
  for (auto& p : parts) elements.push_back(Reply::string(std::move(p)));
  return Reply::array(std::move(elements));
}

Reply confirm(const std::string& kind, const std::string& name) {
  std::vector<Reply> elements;
  elements.push_back(Reply::string(kind));
  elements.push_back(Reply::string(name));
  elements.push_back(Reply::integer(1));
  return Reply::array(std::move(elements));
}

SubscriberOptions options() {
  SubscriberOptions o;
  o.reconnect_backoff_initial = 100ms;
  o.reconnect_backoff_max = 400ms;
  o.ping_interval = 1000ms;
  o.max_buffered = 2;
  return o;
}

const auto t0 = Clock::time_point{} + 1h;

TEST(SubscriberMachine, ConnectsSubscribesAndDeliversInOrder) {
  SubscriberMachine m({"a:1"}, options(), 7);
  auto fx = m.start(t0);
  ASSERT_TRUE(fx.open_session);
  EXPECT_EQ(m.state(), State::connecting);
  const auto s = *fx.open_session;
  std::vector<std::string> chans{"news"};
  fx = m.change(false, true, chans);
  EXPECT_TRUE(fx.write.empty()) << "nothing is written before the session is up";
  fx = m.connected(s, t0);
  EXPECT_EQ(m.state(), State::connected);
  EXPECT_NE(fx.write.find("SUBSCRIBE"), std::string::npos);
  EXPECT_NE(fx.write.find("news"), std::string::npos);
  EXPECT_FALSE(m.confirmed(false, true, chans));
  m.received(s, confirm("subscribe", "news"), t0);
  EXPECT_TRUE(m.confirmed(false, true, chans));
  m.received(s, push({"message", "news", "one"}), t0);
  m.received(s, push({"pmessage", "n*", "news", "two"}), t0);
  ASSERT_TRUE(m.has_message());
  bool wake = false;
  EXPECT_FALSE(m.wants_read()) << "max_buffered = 2 reached";
  auto first = m.pop_message(wake);
  EXPECT_TRUE(wake) << "room again: the reader may go on";
  EXPECT_EQ(first.payload, "one");
  auto second = m.pop_message(wake);
  EXPECT_EQ(second.kind, Message::Kind::pmessage);
  EXPECT_EQ(second.pattern, "n*");
  EXPECT_EQ(second.payload, "two");
  EXPECT_FALSE(m.has_message());
}

TEST(SubscriberMachine, BacksOffRotatesEndpointsAndResubscribesWithAGapMessage) {
  SubscriberMachine m({"a:1", "b:2"}, options(), 7);
  auto fx = m.start(t0);
  std::vector<std::string> chans{"c1"};
  m.change(false, true, chans);
  fx = m.connect_failed(*fx.open_session, Error(errc::connect_failed, "refused"), t0);
  EXPECT_EQ(m.state(), State::backoff);
  EXPECT_EQ(m.endpoint(), 1u) << "the next attempt takes the next endpoint";
  const auto wake_at = m.next_wakeup();
  EXPECT_GT(wake_at, t0);
  EXPECT_LE(wake_at, t0 + 100ms) << "first delay is at most reconnect_backoff_initial";
  EXPECT_FALSE(m.on_time(wake_at - 1ms).open_session);
  fx = m.on_time(wake_at);
  ASSERT_TRUE(fx.open_session);
  EXPECT_EQ(fx.endpoint, 1u);
  auto s = *fx.open_session;
  m.connected(s, wake_at);
  EXPECT_EQ(m.reconnects(), 0u) << "the first successful connection is no reconnect";
  m.received(s, confirm("subscribe", "c1"), wake_at);
  // The server goes away: backoff, then a new session that subscribes again.
  fx = m.lost(s, Error(errc::io_error, "b:2 closed the connection"), wake_at);
  EXPECT_TRUE(fx.close_session);
  EXPECT_FALSE(m.confirmed(false, true, chans));
  fx = m.on_time(m.next_wakeup());
  ASSERT_TRUE(fx.open_session);
  const auto s2 = *fx.open_session;
  EXPECT_NE(s2, s);
  fx = m.connected(s2, t0 + 1s);
  EXPECT_NE(fx.write.find("c1"), std::string::npos) << "subscriptions are sent again";
  EXPECT_EQ(m.reconnects(), 1u);
  ASSERT_TRUE(m.has_message());
  bool wake = false;
  auto gap = m.pop_message(wake);
  EXPECT_EQ(gap.kind, Message::Kind::reconnected);
  EXPECT_NE(gap.payload.find("closed the connection"), std::string::npos);
  // Events of the old session are stale.
  EXPECT_FALSE(m.lost(s, Error(errc::io_error, "late"), t0 + 2s).close_session);
  EXPECT_EQ(m.state(), State::connected);
}

TEST(SubscriberMachine, BackoffGrowsToItsCapAndResetsAfterSuccess) {
  SubscriberMachine m({"a:1"}, options(), 7);
  auto fx = m.start(t0);
  auto now = t0;
  for (int i = 0; i < 6; ++i) {
    m.connect_failed(*fx.open_session, Error(errc::connect_failed, "refused"), now);
    EXPECT_LE(m.next_wakeup() - now, 400ms) << "reconnect_backoff_max caps the delay";
    now = m.next_wakeup();
    fx = m.on_time(now);
    ASSERT_TRUE(fx.open_session);
  }
  m.connected(*fx.open_session, now);
  fx = m.lost(*fx.open_session, Error(errc::io_error, "gone"), now);
  EXPECT_LE(m.next_wakeup() - now, 100ms) << "a success resets the backoff";
}

TEST(SubscriberMachine, PingsAQuietConnectionAndReplacesASilentOne) {
  SubscriberMachine m({"a:1"}, options(), 7);
  auto fx = m.start(t0);
  const auto s = *fx.open_session;
  m.connected(s, t0);
  EXPECT_EQ(m.next_wakeup(), t0 + 1000ms);
  fx = m.on_time(t0 + 1000ms);
  EXPECT_NE(fx.write.find("PING"), std::string::npos);
  // The PONG arrives: the connection lives on.
  m.received(s, Reply::status("PONG"), t0 + 1100ms);
  fx = m.on_time(m.next_wakeup());
  EXPECT_FALSE(fx.close_session);
  // Silence: a PING, then nothing by the next tick.
  EXPECT_EQ(m.next_wakeup(), t0 + 3000ms);
  fx = m.on_time(t0 + 3000ms);
  EXPECT_NE(fx.write.find("PING"), std::string::npos);
  fx = m.on_time(t0 + 4000ms);
  EXPECT_TRUE(fx.close_session);
  EXPECT_EQ(m.state(), State::backoff);
  ASSERT_TRUE(m.last_error());
  EXPECT_EQ(m.last_error()->code(), errc::timeout);
}

// Bytes of a reply that never ends must not keep a dead (or hostile) server looking alive:
// only complete replies count, so the PING check still replaces the session.
TEST(SubscriberMachine, OnlyCompleteRepliesProveTheServerAlive) {
  SubscriberMachine m({"a:1"}, options(), 7);
  auto fx = m.start(t0);
  const auto s = *fx.open_session;
  m.connected(s, t0);
  // A message in two reads: complete only with the second.
  const std::string msg = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
  m.on_bytes(s, msg.data(), 10, t0 + 100ms);
  EXPECT_FALSE(m.has_message());
  fx = m.on_bytes(s, msg.data() + 10, msg.size() - 10, t0 + 200ms);
  EXPECT_TRUE(fx.wake);
  ASSERT_TRUE(m.has_message());
  bool wake = false;
  EXPECT_EQ(m.pop_message(wake).payload, "hi");
  // The PING check sees the message at +200ms as the last sign of life.
  EXPECT_EQ(m.next_wakeup(), t0 + 1000ms);
  fx = m.on_time(t0 + 1000ms);
  EXPECT_TRUE(fx.write.empty()) << "the connection spoke within the interval";
  // Now a bulk reply that trickles in forever: bytes, but never a complete reply.
  const std::string head = "$100000\r\n";
  m.on_bytes(s, head.data(), head.size(), t0 + 1500ms);
  const std::string drip(10, 'x');
  auto t = t0 + 1500ms;
  bool pinged = false;
  for (int i = 0; i < 60 && m.state() == State::connected; ++i) {
    t += 100ms;
    m.on_bytes(s, drip.data(), drip.size(), t);
    if (t >= m.next_wakeup()) {
      fx = m.on_time(t);
      if (fx.write.find("PING") != std::string::npos) pinged = true;
    }
  }
  EXPECT_TRUE(pinged) << "trickling bytes do not hold off the PING";
  EXPECT_EQ(m.state(), State::backoff) << "the unanswered PING replaces the session";
  ASSERT_TRUE(m.last_error());
  EXPECT_EQ(m.last_error()->code(), errc::timeout);
}

TEST(SubscriberMachine, ReplyOverMaxReplyBytesBreaksTheSession) {
  SubscriberMachine m({"a:1"}, options(), 7, 1024);
  auto fx = m.start(t0);
  const auto s = *fx.open_session;
  m.connected(s, t0);
  const std::string head = "$5000\r\n";  // announces more than the bound: refused at once
  fx = m.on_bytes(s, head.data(), head.size(), t0 + 10ms);
  EXPECT_TRUE(fx.close_session);
  EXPECT_TRUE(fx.wake);
  EXPECT_EQ(m.state(), State::backoff);
  ASSERT_TRUE(m.last_error());
  EXPECT_EQ(m.last_error()->code(), errc::protocol_error);
  EXPECT_NE(m.last_error()->message().find("max_reply_bytes"), std::string::npos)
      << m.last_error()->message();
  // The next session parses from a clean state.
  fx = m.on_time(m.next_wakeup());
  ASSERT_TRUE(fx.open_session);
  const auto s2 = *fx.open_session;
  m.connected(s2, t0 + 1s);
  const std::string pong = "+PONG\r\n";
  fx = m.on_bytes(s2, pong.data(), pong.size(), t0 + 1s);
  EXPECT_EQ(m.state(), State::connected);
  EXPECT_FALSE(fx.close_session);
  // Bytes of the old session are ignored.
  fx = m.on_bytes(s, head.data(), head.size(), t0 + 1s);
  EXPECT_FALSE(fx.close_session);
  EXPECT_EQ(m.state(), State::connected);
}

TEST(SubscriberMachine, ErrorRepliesKeepTheSessionUnexpectedRepliesBreakIt) {
  SubscriberMachine m({"a:1"}, options(), 7);
  auto fx = m.start(t0);
  const auto s = *fx.open_session;
  m.connected(s, t0);
  m.received(s, Reply::error("NOPERM no"), t0);
  EXPECT_EQ(m.reply_errors(), 1u);
  EXPECT_EQ(m.state(), State::connected);
  fx = m.received(s, Reply::integer(5), t0);
  EXPECT_TRUE(fx.close_session);
  EXPECT_EQ(m.state(), State::backoff);
  EXPECT_EQ(m.last_error()->code(), errc::protocol_error);
}

TEST(SubscriberMachine, UnsubscribeAllAndClose) {
  SubscriberMachine m({"a:1"}, options(), 7);
  auto fx = m.start(t0);
  const auto s = *fx.open_session;
  m.connected(s, t0);
  std::vector<std::string> chans{"x", "y"};
  m.change(false, true, chans);
  std::vector<std::string> all;
  fx = m.change(false, false, all);
  EXPECT_EQ(all.size(), 2u) << "an empty unsubscribe means every channel";
  EXPECT_NE(fx.write.find("UNSUBSCRIBE"), std::string::npos);
  fx = m.close();
  EXPECT_TRUE(fx.close_session);
  EXPECT_TRUE(m.closed());
  EXPECT_EQ(m.next_wakeup(), Clock::time_point::max());
  EXPECT_FALSE(m.on_time(t0 + 1h).open_session);
  EXPECT_FALSE(m.connected(s, t0).wake) << "nothing happens after close";
}

}  // namespace
}  // namespace connpool::redis::detail
