// Large top-level bulk strings (GET of a big value) bypass hiredis and are appended straight
// into the reply's string: split across reads anywhere (inside the header, the body, the CRLF),
// mixed with other replies in one read, nested ones left to hiredis, a bad terminator and an
// announced length over max_reply_bytes refused; and through the multiplexer, a 1 MiB reply
// split across reads goes to the right caller.
#include "detail/multiplexer.hpp"
#include "resp.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {
namespace {

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// A binary value of `n` bytes that differs at every position modulo 251.
std::string value_of(std::size_t n, char salt) {
  std::string v(n, '\0');
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i % 251) ^ salt);
  return v;
}

// Feeds `wire` in pieces of the given sizes (cycled), draining replies after each piece as
// the multiplexer does.
Result<std::vector<Reply>> feed_in_pieces(RespReader& r, std::string_view wire,
                                          const std::vector<std::size_t>& pieces) {
  std::vector<Reply> out;
  std::size_t off = 0;
  for (std::size_t i = 0; off < wire.size(); ++i) {
    const std::size_t n = std::min(pieces[i % pieces.size()], wire.size() - off);
    if (auto fed = r.feed(wire.data() + off, n); !fed) return fed.error();
    off += n;
    for (;;) {
      auto next = r.next();
      if (!next) return next.error();
      if (!*next) break;
      out.push_back(std::move(**next));
    }
  }
  return out;
}

TEST(RespLargeBulk, SplitAnywhereAndMixedWithOtherReplies) {
  const std::string a = value_of(kDirectBulkMin, 1);
  const std::string b = value_of(std::size_t{1} << 20, 7);
  const std::string wire =
      "+OK\r\n" + bulk(a) + ":7\r\n" + bulk(b) + "$-1\r\n" + bulk("small") + "+PONG\r\n";
  const std::vector<std::vector<std::size_t>> splits{
      {wire.size()}, {1}, {2, 3, 5}, {16 * 1024}, {65536, 7, 1}, {256 * 1024, 13}};
  for (const auto& pieces : splits) {
    RespReader r;
    auto replies = feed_in_pieces(r, wire, pieces);
    ASSERT_TRUE(replies) << replies.error().to_string();
    ASSERT_EQ(replies->size(), 7u) << "pieces of " << pieces.front();
    EXPECT_EQ((*replies)[0], Reply::status("OK"));
    EXPECT_TRUE((*replies)[1].is_string());
    EXPECT_TRUE((*replies)[1].str() == a);
    EXPECT_EQ((*replies)[2], Reply::integer(7));
    EXPECT_TRUE((*replies)[3].str() == b) << "pieces of " << pieces.front();
    EXPECT_TRUE((*replies)[4].is_nil());
    EXPECT_EQ((*replies)[5], Reply::string("small"));
    EXPECT_EQ((*replies)[6], Reply::status("PONG"));
    // In one piece hiredis sees each reply whole; in small pieces both large ones take the
    // direct path; a large first piece holds `a` whole (hiredis's) and the start of `b`.
    if (pieces[0] == wire.size()) {
      EXPECT_EQ(r.direct_bulks(), 0u);
    } else if (pieces[0] <= 16 * 1024) {
      EXPECT_EQ(r.direct_bulks(), 2u) << "pieces of " << pieces.front();
    } else {
      EXPECT_GE(r.direct_bulks(), 1u) << "pieces of " << pieces.front();
    }
    auto none = r.next();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
  }
  // Random piece sizes, several seeds.
  for (int seed = 0; seed < 20; ++seed) {
    std::mt19937 random(static_cast<unsigned>(seed));
    std::vector<std::size_t> pieces;
    for (int i = 0; i < 64; ++i) pieces.push_back(1 + random() % 70000);
    RespReader r;
    auto replies = feed_in_pieces(r, wire + wire, pieces);
    ASSERT_TRUE(replies) << replies.error().to_string();
    ASSERT_EQ(replies->size(), 14u) << "seed " << seed;
    EXPECT_TRUE((*replies)[3].str() == b) << "seed " << seed;
    EXPECT_TRUE((*replies)[8].str() == a) << "seed " << seed;
    EXPECT_TRUE((*replies)[10].str() == b) << "seed " << seed;
    EXPECT_EQ((*replies)[13], Reply::status("PONG")) << "seed " << seed;
    EXPECT_GE(r.direct_bulks(), 2u) << "seed " << seed;
  }
}

TEST(RespLargeBulk, NestedLargeBulkStillParsed) {
  const std::string v = value_of(200000, 3);
  const std::string wire = "*2\r\n" + bulk(v) + ":1\r\n";
  RespReader r;
  auto replies = feed_in_pieces(r, wire, {4096});
  ASSERT_TRUE(replies) << replies.error().to_string();
  ASSERT_EQ(replies->size(), 1u);
  ASSERT_EQ((*replies)[0].elements().size(), 2u);
  EXPECT_TRUE((*replies)[0].elements()[0].str() == v);
}

TEST(RespLargeBulk, MissingTerminatorIsProtocolError) {
  std::string wire = "$" + std::to_string(kDirectBulkMin) + "\r\n" + value_of(kDirectBulkMin, 5);
  wire += "XY+OK\r\n";
  RespReader r;
  auto replies = feed_in_pieces(r, wire, {1000});
  ASSERT_FALSE(replies);
  EXPECT_EQ(replies.error().code(), errc::protocol_error);
}

TEST(RespLargeBulk, AnnouncedLengthOverTheLimitStillRefused) {
  RespReader r(100000);
  const std::string wire = "$200000\r\n" + std::string(1000, 'x');
  auto replies = feed_in_pieces(r, wire, {100});
  ASSERT_FALSE(replies);
  EXPECT_EQ(replies.error().code(), errc::protocol_error);
}

struct Caller {
  int id = 0;
};

TEST(RespLargeBulk, MultiplexerHandsAOneMebibyteReplySplitAcrossReadsToItsCaller) {
  Multiplexer<Caller> mux("h:1", std::chrono::milliseconds(100));
  Multiplexer<Caller>::Completions out;
  const auto never = std::chrono::steady_clock::time_point::max();
  Chunk get1;
  get1.owned = "GET a";
  Chunk get2;
  get2.owned = "GET b";
  mux.submit(std::move(get1), 1, never, Caller{1}, out);
  mux.submit(std::move(get2), 1, never, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  const std::string big = value_of(std::size_t{1} << 20, 9);
  const std::string wire = bulk(big) + bulk("second");
  for (std::size_t off = 0; off < wire.size(); off += 16 * 1024 + 3) {
    mux.on_read(wire.data() + off, std::min<std::size_t>(16 * 1024 + 3, wire.size() - off), out);
    if (off + 16 * 1024 + 3 < big.size()) {
      ASSERT_TRUE(out.empty()) << "completed early";
    }
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].handler.id, 1);
  ASSERT_TRUE(out[0].result);
  EXPECT_TRUE(out[0].result->at(0).str() == big);
  EXPECT_EQ(out[1].handler.id, 2);
  ASSERT_TRUE(out[1].result);
  EXPECT_EQ(out[1].result->at(0).str(), "second");
}

}  // namespace
}  // namespace connpool::redis::detail
