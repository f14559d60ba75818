// The hiredis-backed reader and formatter, with no server: every reply type, binary bytes,
// replies split across feeds, a 16 MiB bulk string, and malformed input.
#include "resp.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {
namespace {

std::vector<Reply> parse_all(RespReader& r, std::string_view bytes) {
  EXPECT_TRUE(r.feed(bytes.data(), bytes.size()));
  std::vector<Reply> out;
  for (int guard = 0; guard < 1000; ++guard) {
    auto next = r.next();
    EXPECT_TRUE(next) << next.error().to_string();
    if (!next || !*next) break;
    out.push_back(std::move(**next));
  }
  return out;
}

TEST(Resp, EveryReplyType) {
  RespReader r;
  auto replies = parse_all(r, "+PONG\r\n:42\r\n$-1\r\n-ERR bad\r\n$3\r\nabc\r\n*-1\r\n");
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0], Reply::status("PONG"));
  EXPECT_EQ(replies[1], Reply::integer(42));
  EXPECT_TRUE(replies[2].is_nil());
  EXPECT_EQ(replies[3], Reply::error("ERR bad"));
  EXPECT_EQ(replies[4], Reply::string("abc"));
  EXPECT_TRUE(replies[5].is_nil());
}

// append_simple_reply() builds what the hiredis reader builds, or declines: every frame here
// (as the scanner delimits them) is parsed both ways.
TEST(Resp, SimpleRepliesMatchTheReader) {
  const std::vector<std::string> frames = {"+OK\r\n",
                                           "+\r\n",
                                           "-ERR wrong\r\n",
                                           "+a\rb\r\n",
                                           ":0\r\n",
                                           ":-0\r\n",
                                           ":42\r\n",
                                           ":-9223372036854775808\r\n",
                                           ":9223372036854775807\r\n",
                                           ":007\r\n",
                                           ":+5\r\n",
                                           ":1x\r\n",
                                           ":\r\n",
                                           ":99999999999999999999\r\n",
                                           "$-1\r\n",
                                           "$0\r\n\r\n",
                                           "$-0\r\n\r\n",
                                           "$3\r\nabc\r\n",
                                           std::string("$4\r\na\r\n\0\r\n", 10),
                                           "$007\r\nabcdefg\r\n",
                                           "*1\r\n:1\r\n",
                                           "*-1\r\n"};
  int built = 0;
  for (const std::string& frame : frames) {
    std::vector<Reply> fast;
    const bool simple = append_simple_reply(frame, fast);
    RespReader r;
    ASSERT_TRUE(r.feed(frame.data(), frame.size()));
    auto reply = r.next();
    if (!simple) {
      EXPECT_TRUE(fast.empty()) << frame;
      continue;
    }
    ++built;
    // What the fast path takes, the reader takes too (it refuses ":-0", for one).
    ASSERT_TRUE(reply && *reply) << frame;
    ASSERT_EQ(fast.size(), 1u) << frame;
    EXPECT_EQ(fast[0], **reply) << frame;
  }
  EXPECT_EQ(built, 12);  // the canonical forms (the first 12 lines' but ":-0") take it
  std::vector<Reply> none;
  EXPECT_FALSE(append_simple_reply("*1\r\n:1\r\n", none));  // arrays are the reader's
  EXPECT_FALSE(append_simple_reply("+OK\n", none));         // no CRLF
  EXPECT_TRUE(none.empty());
}

TEST(Resp, NestedArrays) {
  RespReader r;
  auto replies = parse_all(r, "*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n+OK\r\n*0\r\n");
  ASSERT_EQ(replies.size(), 2u);
  std::vector<Reply> inner{Reply::string("x"), Reply::nil()};
  std::vector<Reply> outer{Reply::integer(1), Reply::array(inner), Reply::status("OK")};
  EXPECT_EQ(replies[0], Reply::array(outer));
  EXPECT_EQ(replies[1], Reply::array({}));
  EXPECT_EQ(replies[0].to_display(), "[(integer) 1, [\"x\", (nil)], OK]");
}

TEST(Resp, BinarySafeAndSplitAcrossFeeds) {
  RespReader r;
  const std::string value("a\0\r\nb", 5);
  const std::string wire = "$5\r\n" + value + "\r\n";
  for (char c : wire) {
    ASSERT_TRUE(r.feed(&c, 1));
  }
  auto next = r.next();
  ASSERT_TRUE(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->str(), value);
  auto none = r.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(Resp, SixteenMebibyteBulk) {
  RespReader r;
  const std::size_t n = 16u << 20;
  std::string value(n, 'v');
  value[0] = '\0';
  value[n - 1] = '\n';
  const std::string wire = "$" + std::to_string(n) + "\r\n" + value + "\r\n";
  for (std::size_t off = 0; off < wire.size(); off += 65536) {
    const std::size_t len = std::min<std::size_t>(65536, wire.size() - off);
    ASSERT_TRUE(r.feed(wire.data() + off, len));
  }
  auto next = r.next();
  ASSERT_TRUE(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->str().size(), n);
  EXPECT_TRUE((*next)->str() == value);
}

TEST(Resp, MalformedIsProtocolError) {
  RespReader r;
  const std::string_view junk = "?what\r\n";
  ASSERT_TRUE(r.feed(junk.data(), junk.size()));
  auto next = r.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code(), errc::protocol_error);
}

TEST(Resp, FormatterIsBinarySafe) {
  const std::string key("k\0y", 3);
  const std::vector<std::string_view> args{"SET", key, ""};
  auto cmd = FormattedCommand::format(args);
  ASSERT_TRUE(cmd);
  EXPECT_EQ(std::string(cmd->data(), cmd->size()),
            std::string("*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$0\r\n\r\n", 28));
}

TEST(Resp, FormatterManyArguments) {
  std::vector<std::string> owned;
  for (int i = 0; i < 40; ++i) owned.push_back(std::to_string(i));
  std::vector<std::string_view> args(owned.begin(), owned.end());
  auto cmd = FormattedCommand::format(args);
  ASSERT_TRUE(cmd);
  RespReader r;  // a request is itself valid RESP: an array of bulk strings
  auto parsed = parse_all(r, std::string_view(cmd->data(), cmd->size()));
  ASSERT_EQ(parsed.size(), 1u);
  ASSERT_EQ(parsed[0].elements().size(), 40u);
  EXPECT_EQ(parsed[0].elements()[39], Reply::string("39"));
}

// Commands at the freelist's block size and just over it (malloc'd), moved, reassigned and
// freed in an order that recycles blocks: each keeps its own bytes throughout.
TEST(Resp, FormattedCommandsKeepTheirBytesAcrossRecycledBlocks) {
  const auto make = [](std::size_t value_size, char fill) {
    const std::string value(value_size, fill);
    const std::vector<std::string_view> args{"SET", "k", value};
    auto cmd = FormattedCommand::format(args);
    EXPECT_TRUE(cmd);
    return std::make_pair(
        std::move(*cmd),
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(value_size) + "\r\n" + value + "\r\n");
  };
  const std::size_t small = FormattedCommand::kPooledCommandBytes - 30;  // 254 bytes on the wire
  ASSERT_LE(make(small, 'a').first.size(), FormattedCommand::kPooledCommandBytes);
  ASSERT_GT(make(small + 40, 'a').first.size(), FormattedCommand::kPooledCommandBytes);
  std::vector<std::pair<FormattedCommand, std::string>> cmds;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      cmds.push_back(make(i % 2 == 0 ? small : small + 40, static_cast<char>('a' + i % 26)));
    }
    for (std::size_t i = 0; i < cmds.size(); i += 3) cmds[i].first = make(small, 'z').first;
    for (std::size_t i = 0; i < cmds.size(); i += 3) {
      cmds[i].second = make(small, 'z').second;
    }
    for (const auto& [cmd, want] : cmds) {
      ASSERT_EQ(std::string(cmd.data(), cmd.size()), want);
    }
    FormattedCommand moved(std::move(cmds.back().first));
    EXPECT_TRUE(cmds.back().first.empty());
    EXPECT_EQ(std::string(moved.data(), moved.size()), cmds.back().second);
    cmds.erase(cmds.begin(), cmds.begin() + 25);  // frees blocks the next round reuses
    cmds.pop_back();
  }
}

TEST(Reply, ErrorReplyMapping) {
  auto a = error_reply_to_result(Reply::error("WRONGPASS invalid username-password pair"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), errc::auth_failed);
  auto b = error_reply_to_result(Reply::error("ERR wrong type"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), errc::server_error);
  auto c = error_reply_to_result(Reply::integer(1));
  ASSERT_TRUE(c);
}

}  // namespace
}  // namespace connpool::redis::detail
