// Session: the per-client state machine, driven by scripted bytes (no sockets).
#include "connpool/proxy/session.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connpool::proxy {
namespace {

using Cmds = std::vector<std::vector<std::string>>;

std::string req(std::vector<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

std::vector<Action> drain(Session& s) {
  std::vector<Action> out;
  while (auto a = s.next()) out.push_back(std::move(*a));
  return out;
}

TEST(Session, PipelinedStatelessCommandsBecomeOneSharedBatch) {
  Session s({});
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += req({"INCR", "k"});
  s.feed(bytes);
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Action::Kind::forward);
  EXPECT_EQ(actions[0].target, Target::shared);
  EXPECT_EQ(actions[0].commands.size(), 10u);
}

TEST(Session, ForwardedWireIsTheClientsBytesOrTheEncodedInlineCommand) {
  Session s({});
  const std::string multibulk = req({"SET", "k", "v\r\n"}) + req({"GET", "k"});
  s.feed(multibulk + "INCR \"a b\"\r\n");
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].commands.size(), 3u);
  EXPECT_EQ(actions[0].wire, multibulk + req({"INCR", "a b"}));
}

TEST(Session, BatchesAreBoundedByMaxBatch) {
  SessionOptions o;
  o.max_batch = 4;
  Session s(o);
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += req({"GET", "k"});
  s.feed(bytes);
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].commands.size(), 4u);
  EXPECT_EQ(actions[2].commands.size(), 2u);
}

// Without keep_commands (a plain upstream: the proxy relays bytes) a batch is its wire bytes
// and its count, and the states still change in order.
TEST(Session, WithoutKeepCommandsABatchIsItsWireAndCount) {
  SessionOptions o;
  o.keep_commands = false;
  o.max_batch = 4;
  Session s(o);
  std::string gets;
  for (int i = 0; i < 6; ++i) gets += req({"GET", "key:__rand_int__" + std::to_string(i)});
  const std::string multi = req({"MULTI"}) + req({"SET", "k", "a value over sixteen bytes"});
  s.feed(gets + multi + req({"EXEC"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].count, 4u);
  EXPECT_EQ(actions[1].count, 2u);
  EXPECT_EQ(actions[0].wire + actions[1].wire, gets);
  EXPECT_TRUE(actions[0].commands.empty());
  EXPECT_EQ(actions[2].target, Target::pinned);
  EXPECT_EQ(actions[2].count, 3u);
  EXPECT_EQ(actions[2].wire, multi + req({"EXEC"}));
  EXPECT_TRUE(actions[2].release_after);
  EXPECT_FALSE(s.pinned());
}

TEST(Session, MultiExecPinsAndReleases) {
  Session s({});
  s.feed(req({"GET", "a"}) + req({"MULTI"}) + req({"SET", "k", "v"}) + req({"EXEC"}) +
         req({"GET", "b"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].target, Target::shared);
  EXPECT_EQ(actions[1].target, Target::pinned);
  EXPECT_EQ(actions[1].commands, (Cmds{{"MULTI"}, {"SET", "k", "v"}, {"EXEC"}}));
  EXPECT_TRUE(actions[1].release_after);
  EXPECT_EQ(actions[2].target, Target::shared);
  EXPECT_FALSE(s.pinned());
}

TEST(Session, WatchPinsUntilExecAndUnwatch) {
  Session s({});
  s.feed(req({"WATCH", "k"}) + req({"GET", "k"}));
  auto actions = drain(s);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].target, Target::pinned);
  EXPECT_FALSE(actions[0].release_after);
  EXPECT_TRUE(s.pinned());
  EXPECT_EQ(s.reset_commands(), (Cmds{{"UNWATCH"}}));
  s.feed(req({"UNWATCH"}));
  actions = drain(s);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_TRUE(actions[0].release_after);
  EXPECT_FALSE(s.pinned());
  EXPECT_TRUE(s.reset_commands().empty());
}

TEST(Session, ClientLeavingMidTransactionGetsItsConnectionReset) {
  Session s({});
  s.feed(req({"WATCH", "k"}) + req({"MULTI"}) + req({"SET", "k", "v"}));
  drain(s);
  EXPECT_TRUE(s.pinned());
  EXPECT_EQ(s.reset_commands(), (Cmds{{"DISCARD"}, {"UNWATCH"}}));
}

TEST(Session, BlockingCommandsTakeTheirOwnLeaseWithoutTimeout) {
  Session s({});
  s.feed(req({"BLPOP", "q", "0"}) + req({"GET", "a"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].target, Target::exclusive_once);
  EXPECT_TRUE(actions[0].no_timeout);
  EXPECT_EQ(actions[0].commands.size(), 1u);
  EXPECT_EQ(actions[1].target, Target::shared);
  EXPECT_FALSE(s.pinned());
}

TEST(Session, SelectOfAnotherDbPinsAndSelectBackReleases) {
  SessionOptions o;
  o.upstream_db = 2;
  Session s(o);
  s.feed(req({"SELECT", "2"}) + req({"SELECT", "5"}) + req({"SELECT", "2"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].bytes, "+OK\r\n");  // already there: answered by the proxy
  EXPECT_EQ(actions[1].target, Target::pinned);
  EXPECT_EQ(actions[1].commands.size(), 2u);
  EXPECT_TRUE(actions[1].release_after);
  s.feed(req({"SELECT", "7"}));
  drain(s);
  EXPECT_EQ(s.reset_commands(), (Cmds{{"SELECT", "2"}}));
}

TEST(Session, RefusedCommandsAndQuit) {
  Session s({});
  s.feed(req({"CLIENT", "KILL", "ID", "1"}) + req({"QUIT"}) + req({"GET", "never"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].refused_rule, "client-kill");
  EXPECT_NE(actions[0].bytes.find("(rule: client-kill)"), std::string::npos);
  EXPECT_EQ(actions[1].bytes, "+OK\r\n");
  EXPECT_EQ(actions[2].kind, Action::Kind::close);
}

TEST(Session, Hello3IsNoproto) {
  Session s({});
  s.feed(req({"HELLO", "3"}) + req({"HELLO", "2"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].bytes, "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(actions[1].bytes.rfind("*14\r\n", 0), 0u);
}

TEST(Session, AuthAtTheProxy) {
  SessionOptions o;
  o.password = "s3cret";
  o.users.push_back({"app", "apppw"});
  Session s(o);
  s.feed(req({"GET", "k"}) + req({"AUTH", "wrong"}) + req({"AUTH", "s3cret"}) + req({"GET", "k"}));
  auto actions = drain(s);
  ASSERT_EQ(actions.size(), 4u);
  EXPECT_EQ(actions[0].bytes.rfind("-NOAUTH", 0), 0u);
  EXPECT_EQ(actions[1].bytes.rfind("-WRONGPASS", 0), 0u);
  EXPECT_EQ(actions[1].bytes.find("wrong"), std::string::npos);
  EXPECT_EQ(actions[2].bytes, "+OK\r\n");
  EXPECT_EQ(actions[3].kind, Action::Kind::forward);

  Session named(o);
  named.feed(req({"HELLO", "2", "AUTH", "app", "apppw"}) + req({"PING"}));
  actions = drain(named);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].bytes.rfind("*14", 0), 0u);
  EXPECT_EQ(actions[1].kind, Action::Kind::forward);
}

TEST(Session, SubscribeCountsAndSubscriberContext) {
  Session s({});
  s.feed(req({"SUBSCRIBE", "a", "b"}) + req({"GET", "k"}) + req({"PING"}) + req({"UNSUBSCRIBE"}) +
         req({"GET", "k"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 5u);
  EXPECT_EQ(actions[0].kind, Action::Kind::pubsub);
  EXPECT_TRUE(actions[0].pubsub_started);
  EXPECT_EQ(actions[0].names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(actions[0].bytes,
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
  EXPECT_EQ(actions[1].bytes.rfind("-ERR Can't execute 'get'", 0), 0u);
  EXPECT_EQ(actions[2].bytes, "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_TRUE(actions[3].pubsub_ended);
  EXPECT_EQ(actions[3].names.size(), 2u);
  EXPECT_EQ(actions[4].kind, Action::Kind::forward);
}

TEST(Session, ProtocolErrorIsAnsweredThenClosed) {
  Session s({});
  s.feed(req({"GET", "a"}) + "*1\r\n$x\r\n");
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].kind, Action::Kind::forward);
  EXPECT_EQ(actions[1].bytes, "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(actions[2].kind, Action::Kind::close);
}

TEST(Session, OutputBufferIsBounded) {
  SessionOptions o;
  o.max_output_bytes = 10;
  Session s(o);
  EXPECT_TRUE(s.append_output("12345"));
  s.set_in_write(4);
  EXPECT_FALSE(s.append_output("12"));  // 5 queued + 4 being written + 2 > 10
  EXPECT_TRUE(s.overflowed());
  EXPECT_FALSE(s.append_output("1"));
}

TEST(Session, ResetClearsPinAndSubscriptions) {
  Session s({});
  s.feed(req({"MULTI"}) + req({"RESET"}));
  const auto actions = drain(s);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[1].kind, Action::Kind::reset);
  EXPECT_EQ(actions[1].reset, (Cmds{{"DISCARD"}, {"UNWATCH"}}));
  EXPECT_FALSE(s.pinned());
}

}  // namespace
}  // namespace connpool::proxy
