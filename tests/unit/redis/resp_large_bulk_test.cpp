// Large top-level bulk strings (GET of a big value) bypass hiredis and are appended straight
// into the reply's string: split across reads anywhere (inside the header, the body, the CRLF),
// mixed with other replies in one read, nested ones left to hiredis, a bad terminator and an
// announced length over max_reply_bytes refused; and through the multiplexer, a 1 MiB reply
// split across reads goes to the right caller.
#include "detail/multiplexer.hpp"
#include "resp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// Callers 1 and 2 got, in order, the large value and "second".
template <class Completions>
void expect_big_then_second(const Completions& out, const std::string& big) {
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].handler.id, 1);
  ASSERT_TRUE(out[0].result);
  EXPECT_TRUE(out[0].result->at(0).str() == big);
  EXPECT_EQ(out[1].handler.id, 2);
  ASSERT_TRUE(out[1].result);
  EXPECT_EQ(out[1].result->at(0).str(), "second");
}

TEST(RespLargeBulk, MultiplexerHandsAOneMebibyteReplySplitAcrossReadsToItsCaller) {
  Multiplexer<Caller> mux("h:1", std::chrono::milliseconds(100));
  Multiplexer<Caller>::Completions out;
  const auto never = std::chrono::steady_clock::time_point::max();
  Chunk get1 = Chunk::bytes("GET a");
  Chunk get2 = Chunk::bytes("GET b");
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
  ASSERT_NO_FATAL_FAILURE(expect_big_then_second(out, big));
}

// The driver's direct path: once the front reply is a large bulk string, its body is read
// into the room the multiplexer hands out (several reads, some shorter than the room), the
// rest (CRLF, the next reply) through on_read; both callers get their own reply. No room for
// a body smaller than asked, none before any reply is known, and a failure while a direct
// read is in flight leaves the room harmlessly.
TEST(RespLargeBulk, MultiplexerReadsALargeBodyStraightIntoItsString) {
  Multiplexer<Caller> mux("h:1", std::chrono::milliseconds(100));
  Multiplexer<Caller>::Completions out;
  const auto never = std::chrono::steady_clock::time_point::max();
  for (int id : {1, 2}) {
    Chunk get = Chunk::bytes("GET k");
    mux.submit(std::move(get), 1, never, Caller{id}, out);
  }
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  EXPECT_TRUE(mux.direct_room(1, 1 << 20).empty()) << "no reply started yet";
  const std::string big = value_of(std::size_t{3} << 20, 5);
  const std::string wire = bulk(big) + bulk("second");
  std::size_t off = 1000;  // the header and the first body bytes arrive in the read buffer
  mux.on_read(wire.data(), off, out);
  ASSERT_TRUE(out.empty());
  EXPECT_TRUE(mux.direct_room(big.size(), 1 << 20).empty()) << "less body left than asked";
  std::size_t direct_reads = 0;
  for (;;) {
    auto room = mux.direct_room(64 * 1024, 1 << 20);
    if (room.empty()) break;
    ASSERT_LE(room.size(), std::size_t{1} << 20);
    const std::size_t n = std::min<std::size_t>(room.size(), 300 * 1000 + direct_reads);
    std::copy_n(wire.data() + off, n, room.data());
    mux.on_direct_read(n, out);
    off += n;
    ++direct_reads;
    ASSERT_TRUE(out.empty()) << "a body read never completes a reply";
  }
  EXPECT_GE(direct_reads, 5u);
  EXPECT_EQ(off, wire.size() - bulk("second").size() - 2) << "the CRLF is left to on_read";
  mux.on_read(wire.data() + off, wire.size() - off, out);
  ASSERT_NO_FATAL_FAILURE(expect_big_then_second(out, big));

  // A partial direct read, then the rest through the buffer after all: the unused room goes.
  {
    Chunk again = Chunk::bytes("GET k");
    mux.submit(std::move(again), 1, never, Caller{4}, out);
    (void)mux.claim_writer();
    ASSERT_FALSE(mux.prepare_write().empty());
    mux.on_written(out);
    const std::string one = bulk(big);
    mux.on_read(one.data(), 1000, out);
    auto room = mux.direct_room(64 * 1024, 1 << 20);
    ASSERT_GE(room.size(), 5000u);
    std::copy_n(one.data() + 1000, 5000, room.data());
    mux.on_direct_read(5000, out);
    EXPECT_EQ(mux.direct_room(64 * 1024, 1 << 20).size(), room.size() - 5000) << "room kept";
    mux.on_read(one.data() + 6000, one.size() - 6000, out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].handler.id, 4);
    ASSERT_TRUE(out[2].result);
    EXPECT_TRUE(out[2].result->at(0).str() == big);
  }

  // A connection that fails while a direct read is in flight.
  Chunk get = Chunk::bytes("GET k");
  mux.submit(std::move(get), 1, never, Caller{3}, out);
  (void)mux.claim_writer();  // the writer may still be claimed from the first round
  ASSERT_FALSE(mux.prepare_write().empty());
  mux.on_written(out);
  mux.on_read(wire.data(), 1000, out);
  auto room = mux.direct_room(64 * 1024, 1 << 20);
  ASSERT_FALSE(room.empty());
  mux.fail(Error(errc::io_error, "gone"), out);
  mux.on_direct_read(room.size(), out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].handler.id, 3);
  EXPECT_FALSE(out[3].result);
  EXPECT_TRUE(mux.direct_room(1, 1 << 20).empty());
}

}  // namespace
}  // namespace connpool::redis::detail
