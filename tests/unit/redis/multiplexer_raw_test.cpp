// Raw requests through the I/O-free multiplexer, driven by byte strings: their replies come
// back as the server's bytes (found by RespFrameScanner), interleaved with parsed requests in
// the same reads, split anywhere, nested, errors counted, a cancelled raw request's late reply
// dropped, replies over a request's byte limit failing only that request, malformed and
// oversized replies failing the connection; plus the scanner on its own.
#include "detail/multiplexer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace connpool::redis::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Caller {
  int id = 0;
};
using Mux = Multiplexer<Caller>;

const auto kNever = Clock::time_point::max();

Chunk bytes_chunk(std::string bytes) {
  return Chunk::bytes(std::move(bytes));
}

// Submits and writes: replies are only matched to written requests.
void send(Mux& mux, int id, std::size_t expected, Framing framing, Mux::Completions& out) {
  mux.submit(bytes_chunk("x"), expected, kNever, Caller{id}, out, framing);
  (void)mux.prepare_write();
  mux.on_written(out);
}

std::string raw_bytes(Mux::Completion& c) {
  EXPECT_TRUE(c.result.has_value()) << c.result.error().message();
  return RawResult::take_bytes(*c.result);
}

// ---- RespFrameScanner ----------------------------------------------------------------------

// Scans `stream` in pieces of `step` bytes; returns the frames it found.
std::vector<std::string> frames(const std::string& stream, std::size_t step) {
  RespFrameScanner scanner;
  std::vector<std::string> out;
  std::string current;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t piece = std::min(step, stream.size() - pos);
    std::size_t off = 0;
    while (off < piece) {
      auto n = scanner.scan(stream.data() + pos + off, piece - off);
      EXPECT_TRUE(n.has_value());
      if (!n) return out;
      current.append(stream, pos + off, *n);
      off += *n;
      if (scanner.done()) {
        EXPECT_EQ(scanner.frame_bytes(), current.size());
        out.push_back(std::move(current));
        current.clear();
      }
    }
    pos += piece;
  }
  EXPECT_TRUE(current.empty()) << "an incomplete frame is left: " << current;
  return out;
}

TEST(RespFrameScanner, SplitsEveryKindOfReplyWhereverTheBytesAreCut) {
  const std::vector<std::string> replies = {
      "+OK\r\n",
      "-ERR wrong type\r\n",
      ":-42\r\n",
      "$3\r\nabc\r\n",
      "$0\r\n\r\n",
      "$-1\r\n",
      "*-1\r\n",
      "*0\r\n",
      "$4\r\na\r\nb\r\n",  // CRLF inside a bulk string is data
      "*3\r\n$1\r\na\r\n*2\r\n:1\r\n*1\r\n$-1\r\n-E nested\r\n",
  };
  std::string stream;
  for (const auto& r : replies) stream += r;
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    EXPECT_EQ(frames(stream, step), replies) << "pieces of " << step << " bytes";
  }
}

TEST(RespFrameScanner, TellsTheTypeOfTheReply) {
  RespFrameScanner scanner;
  const std::string err = "-ERR x\r\n";
  ASSERT_EQ(*scanner.scan(err.data(), err.size()), err.size());
  EXPECT_TRUE(scanner.done());
  EXPECT_EQ(scanner.type(), '-');
  const std::string arr = "*1\r\n-ERR inside an array is not the reply's type\r\n";
  ASSERT_EQ(*scanner.scan(arr.data(), arr.size()), arr.size());
  EXPECT_EQ(scanner.type(), '*');
}

TEST(RespFrameScanner, RefusesWhatIsNotResp2AndStaysFailed) {
  const std::vector<std::string> bad = {
      "%1\r\n",                             // RESP3 map
      "$abc\r\n",                           // not a length
      "$-2\r\n",                            // negative length
      "$3\r\nabcXY",                        // bulk not terminated by CRLF
      "*1\n",                               // LF without CR
      "$" + std::string(33, '9') + "\r\n",  // more digits than any length needs
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    RespFrameScanner scanner;
    auto n = scanner.scan(bad[i].data(), bad[i].size());
    ASSERT_FALSE(n.has_value()) << bad[i];
    EXPECT_EQ(n.error().code(), errc::protocol_error);
    const std::string ok = "+OK\r\n";
    EXPECT_FALSE(scanner.scan(ok.data(), ok.size()).has_value()) << "failed for good";
  }
  std::string deep;
  for (std::size_t i = 0; i <= RespFrameScanner::kMaxDepth; ++i) deep += "*1\r\n";
  RespFrameScanner scanner;
  EXPECT_FALSE(scanner.scan(deep.data(), deep.size()).has_value()) << "nesting is bounded";
}

// ---- Multiplexer with raw requests ---------------------------------------------------------

TEST(MultiplexerRaw, HandsOverTheRepliesBytesAndCountsErrors) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  send(mux, 1, 3, Framing::raw, out);
  const std::string wire = "$3\r\nabc\r\n-ERR no\r\n*2\r\n:1\r\n$-1\r\n";
  mux.on_read(wire.data(), wire.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 1);
  EXPECT_EQ(RawResult::errors(*out[0].result), 1u);
  EXPECT_EQ(raw_bytes(out[0]), wire);
  EXPECT_EQ(mux.in_flight(), 0u);
}

TEST(MultiplexerRaw, ParsedAndRawRequestsShareReadsSplitAnywhere) {
  const std::string a = "*2\r\n$1\r\nk\r\n:7\r\n";          // parsed, 1 reply
  const std::string b = "+OK\r\n*1\r\n*1\r\n$2\r\nxy\r\n";  // raw, 2 replies
  const std::string c = "-ERR c\r\n";                       // parsed, 1 reply
  const std::string d = "$5\r\nhello\r\n";                  // raw, 1 reply
  const std::string wire = a + b + c + d;
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 <= wire.size(); cut2 += 3) {
      Mux mux("h:1", 100ms);
      Mux::Completions out;
      send(mux, 1, 1, Framing::parsed, out);
      send(mux, 2, 2, Framing::raw, out);
      send(mux, 3, 1, Framing::parsed, out);
      send(mux, 4, 1, Framing::raw, out);
      mux.on_read(wire.data(), cut, out);
      mux.on_read(wire.data() + cut, cut2 - cut, out);
      mux.on_read(wire.data() + cut2, wire.size() - cut2, out);
      ASSERT_EQ(out.size(), 4u) << "cuts at " << cut << ", " << cut2;
      ASSERT_TRUE(out[0].result.has_value());
      EXPECT_EQ((*out[0].result)[0], Reply::array({Reply::string("k"), Reply::integer(7)}));
      EXPECT_EQ(raw_bytes(out[1]), b);
      ASSERT_TRUE(out[2].result.has_value());
      EXPECT_EQ((*out[2].result)[0], Reply::error("ERR c"));
      EXPECT_EQ(raw_bytes(out[3]), d);
      EXPECT_FALSE(mux.error().has_value());
    }
  }
}

TEST(MultiplexerRaw, CancelledRawRequestsLateReplyIsDroppedInOrder) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  const auto id = mux.submit(bytes_chunk("GET a\r\n"), 1, kNever, Caller{1}, out, Framing::raw);
  (void)mux.prepare_write();
  mux.on_written(out);
  send(mux, 2, 1, Framing::raw, out);
  mux.cancel(id, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].result.error().code(), errc::cancelled);
  out.clear();
  const std::string late = "$100\r\n" + std::string(100, 'z') + "\r\n";
  const std::string next = "+PONG\r\n";
  mux.on_read(late.data(), 50, out);
  EXPECT_TRUE(out.empty());
  const std::string rest = late.substr(50) + next;
  mux.on_read(rest.data(), rest.size(), out);
  ASSERT_EQ(out.size(), 1u) << "only the live request completes";
  EXPECT_EQ(out[0].handler.id, 2);
  EXPECT_EQ(raw_bytes(out[0]), next);
}

// The proxy's bound for a client that does not read: replies over the request's raw_limit
// complete it at once with resource_exhausted, hold nothing, and the rest is read and dropped
// in order, so the connection serves the next request as if nothing happened.
TEST(MultiplexerRaw, RepliesOverTheRawLimitFailTheRequestNotTheConnection) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(bytes_chunk("GET big x3\r\n"), 3, Clock::now() + 1h, Caller{1}, out, Framing::raw,
             250);
  (void)mux.prepare_write();
  mux.on_written(out);
  send(mux, 2, 1, Framing::raw, out);
  const std::string big = "$100\r\n" + std::string(100, 'v') + "\r\n";  // 107 bytes each
  const std::string next = ":5\r\n";
  const std::string wire = big + big + big + next;
  mux.on_read(wire.data(), 200, out);  // within the limit so far
  EXPECT_TRUE(out.empty());
  mux.on_read(wire.data() + 200, 60, out);  // 260 bytes: over 250
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 1);
  ASSERT_FALSE(out[0].result.has_value());
  EXPECT_EQ(out[0].result.error().code(), errc::resource_exhausted);
  EXPECT_NE(out[0].result.error().message().find("more than 250 bytes"), std::string::npos)
      << out[0].result.error().message();
  EXPECT_EQ(mux.next_deadline(), kNever) << "nobody waits for the dropped replies any more";
  out.clear();
  mux.on_read(wire.data() + 260, wire.size() - 260, out);
  ASSERT_EQ(out.size(), 1u) << "the next request gets exactly its own reply";
  EXPECT_EQ(out[0].handler.id, 2);
  EXPECT_EQ(raw_bytes(out[0]), next);
  EXPECT_FALSE(mux.error().has_value());
  EXPECT_EQ(mux.in_flight(), 0u);

  // Exactly at the limit is within it.
  out.clear();
  mux.submit(bytes_chunk("GET"), 1, kNever, Caller{3}, out, Framing::raw, big.size());
  (void)mux.prepare_write();
  mux.on_written(out);
  mux.on_read(big.data(), big.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(raw_bytes(out[0]), big);
}

TEST(MultiplexerRaw, CancelledBeforeTheWriteIsNeverSent) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  const auto id = mux.submit(bytes_chunk("A"), 1, kNever, Caller{1}, out, Framing::raw);
  mux.submit(bytes_chunk("B"), 1, kNever, Caller{2}, out, Framing::parsed);
  mux.cancel(id, out);
  ASSERT_EQ(out.size(), 1u);
  out.clear();
  std::string w;
  for (const auto& buf : mux.prepare_write())
    w.append(static_cast<const char*>(buf.data()), buf.size());
  EXPECT_EQ(w, "B");
  mux.on_written(out);
  const std::string r = ":1\r\n";
  mux.on_read(r.data(), r.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ((*out[0].result)[0], Reply::integer(1));
}

TEST(MultiplexerRaw, MalformedReplyFailsEveryRequest) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  send(mux, 1, 1, Framing::raw, out);
  send(mux, 2, 1, Framing::parsed, out);
  const std::string wire = "$3\r\nabcd\r\n";
  mux.on_read(wire.data(), wire.size(), out);
  ASSERT_EQ(out.size(), 2u);
  for (auto& c : out) EXPECT_EQ(c.result.error().code(), errc::protocol_error);
  ASSERT_TRUE(mux.error().has_value());
  EXPECT_NE(mux.error()->message().find("CRLF"), std::string::npos) << mux.error()->message();
}

TEST(MultiplexerRaw, ReplyOverMaxReplyBytesFailsTheConnection) {
  Mux mux("h:1", 100ms, 64);
  Mux::Completions out;
  send(mux, 1, 1, Framing::raw, out);
  const std::string head = "$100\r\n" + std::string(70, 'a');
  mux.on_read(head.data(), head.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].result.error().code(), errc::protocol_error);
  EXPECT_NE(out[0].result.error().message().find("max_reply_bytes"), std::string::npos);
}

TEST(MultiplexerRaw, HugeAnnouncedLengthIsCutAtMaxReplyBytes) {
  Mux mux("h:1", 100ms, 64);
  Mux::Completions out;
  send(mux, 1, 1, Framing::raw, out);
  const std::string head = "$9223372036854775807\r\n";
  mux.on_read(head.data(), head.size(), out);
  EXPECT_TRUE(out.empty()) << "a length is not an error in itself";
  const std::string body(100, 'x');
  mux.on_read(body.data(), body.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].result.error().message().find("max_reply_bytes"), std::string::npos);
}

TEST(MultiplexerRaw, ReplyNobodyAskedForAfterRawRepliesFails) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  send(mux, 1, 1, Framing::raw, out);
  const std::string wire = "+OK\r\n+EXTRA\r\n";
  mux.on_read(wire.data(), wire.size(), out);
  ASSERT_TRUE(mux.error().has_value());
  EXPECT_NE(mux.error()->message().find("nobody asked for"), std::string::npos);
  ASSERT_EQ(out.size(), 1u) << "the raw request matched before it is still delivered";
  EXPECT_EQ(raw_bytes(out[0]), "+OK\r\n");
}

// Random replies for random mixes of raw and parsed requests, read in random pieces: each raw
// request gets exactly its replies' bytes, each parsed one its Reply trees.
TEST(MultiplexerRaw, RandomMixesMatchInOrder) {
  std::mt19937 rng(20261207);
  const std::vector<std::pair<std::string, Reply>> kinds = {
      {"+OK\r\n", Reply::status("OK")},
      {"-ERR e\r\n", Reply::error("ERR e")},
      {":12\r\n", Reply::integer(12)},
      {"$-1\r\n", Reply::nil()},
      {"$2\r\n\r\n\r\n", Reply::string("\r\n")},
      {"*2\r\n$1\r\na\r\n*1\r\n:3\r\n",
       Reply::array({Reply::string("a"), Reply::array({Reply::integer(3)})})},
  };
  for (int round = 0; round < 200; ++round) {
    Mux mux("h:1", 100ms);
    Mux::Completions out;
    std::string wire;
    struct Want {
      bool raw;
      std::string bytes;
      std::vector<Reply> replies;
      std::size_t errors = 0;
    };
    std::vector<Want> wants;
    const int requests = 1 + static_cast<int>(rng() % 8);
    for (int r = 0; r < requests; ++r) {
      Want w;
      w.raw = rng() % 2 == 0;
      const std::size_t expected = 1 + rng() % 3;
      for (std::size_t i = 0; i < expected; ++i) {
        const auto& [bytes, reply] = kinds[rng() % kinds.size()];
        w.bytes += bytes;
        w.replies.push_back(reply);
        w.errors += reply.is_error() ? 1 : 0;
      }
      wire += w.bytes;
      send(mux, r, expected, w.raw ? Framing::raw : Framing::parsed, out);
      wants.push_back(std::move(w));
    }
    for (std::size_t pos = 0; pos < wire.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 16, wire.size() - pos);
      mux.on_read(wire.data() + pos, n, out);
      pos += n;
    }
    ASSERT_EQ(out.size(), wants.size()) << "round " << round;
    for (std::size_t i = 0; i < wants.size(); ++i) {
      ASSERT_TRUE(out[i].result.has_value());
      if (wants[i].raw) {
        EXPECT_EQ(RawResult::errors(*out[i].result), wants[i].errors);
        EXPECT_EQ(raw_bytes(out[i]), wants[i].bytes);
      } else {
        EXPECT_EQ(*out[i].result, wants[i].replies);
      }
    }
  }
}

}  // namespace
}  // namespace connpool::redis::detail
