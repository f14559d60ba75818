// Limits of the RESP layer against hostile bytes: max_reply_bytes for every way a reply can grow
// (one endless line, a bulk header announcing too much, an array that never ends), and the
// command size limit checked before hiredis formats anything.
#include "resp.hpp"
#include <sys/mman.h>

#include <climits>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {
namespace {

// Feeds `bytes` in 4 KiB pieces, draining replies after each: what a connection's reader does.
// Returns the first error, or the replies.
Result<std::vector<Reply>> feed_all(RespReader& r, std::string_view bytes) {
  std::vector<Reply> out;
  while (!bytes.empty()) {
    const auto n = std::min<std::size_t>(bytes.size(), 4096);
    if (auto fed = r.feed(bytes.data(), n); !fed) return std::move(fed).error();
    bytes.remove_prefix(n);
    for (;;) {
      auto next = r.next();
      if (!next) return std::move(next).error();
      if (!*next) break;
      out.push_back(std::move(**next));
    }
  }
  return out;
}

constexpr std::size_t kLimit = 64 * 1024;

TEST(RespLimits, ReplyUpToTheLimitIsAccepted) {
  RespReader r(kLimit);
  const std::string value(kLimit - 64, 'v');
  // Many replies in a row, each under the limit: the count is per reply, not per connection.
  std::string wire;
  for (int i = 0; i < 8; ++i) wire += "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  auto replies = feed_all(r, wire);
  ASSERT_TRUE(replies) << replies.error().to_string();
  ASSERT_EQ(replies->size(), 8u);
  EXPECT_EQ((*replies)[7].str(), value);
}

TEST(RespLimits, EndlessLineIsRefused) {
  RespReader r(kLimit);
  const std::string wire = "+" + std::string(4 * kLimit, 'x');
  auto replies = feed_all(r, wire);
  ASSERT_FALSE(replies);
  EXPECT_EQ(replies.error().code(), errc::protocol_error);
  EXPECT_NE(replies.error().message().find("max_reply_bytes"), std::string::npos);
}

TEST(RespLimits, HugeBulkHeaderIsRefusedBeforeItsData) {
  for (const char* header : {"$9223372036854775807\r\n", "$99999999999999999999999\r\n",
                             "$65537\r\n", "*2\r\n:1\r\n$70000\r\n"}) {
    SCOPED_TRACE(header);
    RespReader r(kLimit);
    // Only the header (and a few bytes) arrive: the reader refuses without waiting for data.
    auto replies = feed_all(r, std::string(header) + "abc");
    ASSERT_FALSE(replies);
    EXPECT_EQ(replies.error().code(), errc::protocol_error);
  }
}

TEST(RespLimits, EndlessArrayOfSmallElementsIsRefused) {
  RespReader r(kLimit);
  std::string wire = "*2147483647\r\n";
  while (wire.size() < 4 * kLimit) wire += ":1\r\n";
  auto replies = feed_all(r, wire);
  ASSERT_FALSE(replies);
  EXPECT_EQ(replies.error().code(), errc::protocol_error);
}

TEST(RespLimits, ElementsAreChargedTheirMemoryNotOnlyTheirWireBytes) {
  // 4 wire bytes per element, but each costs a Reply: far fewer fit than kLimit / 4.
  RespReader r(kLimit);
  std::string wire = "*" + std::to_string(kLimit / 8) + "\r\n";
  for (std::size_t i = 0; i < kLimit / 8; ++i) wire += ":1\r\n";
  ASSERT_LT(wire.size(), kLimit);
  auto replies = feed_all(r, wire);
  ASSERT_FALSE(replies);
  EXPECT_EQ(replies.error().code(), errc::protocol_error);
}

TEST(RespLimits, NegativeLengthsAndDeepArrays) {
  {
    RespReader r(kLimit);
    auto replies = feed_all(r, "$-1\r\n*-1\r\n");
    ASSERT_TRUE(replies);
    EXPECT_EQ(replies->size(), 2u);
  }
  {
    RespReader r(kLimit);
    // -1 is nil; hiredis 0.14.1 (Debian) refuses every other negative length.
    auto replies = feed_all(r, "$-5\r\n");
    ASSERT_FALSE(replies);
    EXPECT_EQ(replies.error().code(), errc::protocol_error);
    RespReader r2(kLimit);
    auto array = feed_all(r2, "*-7\r\n");
    ASSERT_FALSE(array);
    EXPECT_EQ(array.error().code(), errc::protocol_error);
  }
  {
    RespReader r(kLimit);
    std::string deep;
    for (int i = 0; i < 1000; ++i) deep += "*1\r\n";
    auto replies = feed_all(r, deep + ":1\r\n");
    ASSERT_FALSE(replies);
    EXPECT_EQ(replies.error().code(), errc::protocol_error);
  }
}

TEST(RespLimits, CommandWireSizeIsComputedWithoutOverflow) {
  const std::vector<std::string_view> args{"SET", "k", "value"};
  auto cmd = FormattedCommand::format(args);
  ASSERT_TRUE(cmd);
  EXPECT_EQ(FormattedCommand::wire_size(args), cmd->size());
  EXPECT_EQ(std::string_view(cmd->data(), cmd->size()),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n");
}

TEST(RespLimits, OversizedCommandIsRefusedWithoutTouchingItsBytes) {
  // 5 GiB of address space that may not be read: refusing must only look at the lengths
  // (hiredis would sum them in an int and overflow its buffer).
  const std::size_t size = std::size_t{5} * 1024 * 1024 * 1024;
  void* region = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  const auto* base = static_cast<const char*>(region);
  const std::vector<std::string_view> cases[] = {
      {"SET", "k", std::string_view(base, size)},                    // >= 4 GiB
      {"SET", "k", std::string_view(base, std::size_t{3} << 30)},    // 2..4 GiB
      {"SET", "k", std::string_view(base, std::size_t{512} << 20)},  // just over 512 MiB
      {"MSET", std::string_view(base, 300 << 20), std::string_view(base, 300 << 20)},
  };
  for (const auto& args : cases) {
    auto cmd = FormattedCommand::format(args);
    ASSERT_FALSE(cmd);
    EXPECT_EQ(cmd.error().code(), errc::invalid_argument);
    EXPECT_NE(cmd.error().message().find("limit"), std::string::npos) << cmd.error().message();
  }
  // A smaller configured limit applies too.
  const std::string value(2000, 'x');
  const std::vector<std::string_view> small{"SET", "k", value};
  EXPECT_FALSE(FormattedCommand::format(small, 1000));
  EXPECT_TRUE(FormattedCommand::format(small, 4000));
  munmap(region, size);
}

TEST(RespLimits, EmptyCommandIsRefused) {
  auto cmd = FormattedCommand::format({});
  ASSERT_FALSE(cmd);
  EXPECT_EQ(cmd.error().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace connpool::redis::detail
