// The I/O-free multiplexer driven by byte strings and a manual clock: write coalescing, reply
// matching in order, partial replies, cancellation before and after the write, deadlines,
// unexpected replies, connection loss, and a randomized interleaving of all of them.
#include "detail/multiplexer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace connpool::redis::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A test handler: remembers which caller it belongs to.
struct Caller {
  int id = 0;
};
using Mux = Multiplexer<Caller>;

Chunk raw(std::string bytes) {
  return Chunk::bytes(std::move(bytes));
}

std::string written(std::span<const boost::asio::const_buffer> buffers) {
  std::string s;
  for (const auto& b : buffers) s.append(static_cast<const char*>(b.data()), b.size());
  return s;
}

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

const auto kNever = Clock::time_point::max();

TEST(Multiplexer, CoalescesQueuedRequestsIntoOneWrite) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(raw("A"), 1, kNever, Caller{1}, out);
  EXPECT_TRUE(mux.claim_writer());
  mux.submit(raw("B"), 1, kNever, Caller{2}, out);
  EXPECT_FALSE(mux.claim_writer()) << "one write round at a time";
  EXPECT_EQ(written(mux.prepare_write()), "AB");
  mux.submit(raw("C"), 1, kNever, Caller{3}, out);
  mux.on_written(out);
  EXPECT_EQ(written(mux.prepare_write()), "C");
  mux.on_written(out);
  EXPECT_TRUE(mux.prepare_write().empty());
  mux.submit(raw("D"), 1, kNever, Caller{4}, out);
  EXPECT_TRUE(mux.claim_writer()) << "the writer was released when nothing was left";
  EXPECT_TRUE(out.empty());
}

TEST(Multiplexer, MatchesRepliesInOrderAcrossPartialReads) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(raw("x"), 1, kNever, Caller{1}, out);
  mux.submit(raw("y"), 2, kNever, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  const std::string bytes = "+OK\r\n" + bulk("one") + ":42\r\n";
  for (char c : bytes) mux.on_read(&c, 1, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].handler.id, 1);
  ASSERT_TRUE(out[0].result);
  EXPECT_EQ(out[0].result->at(0).str(), "OK");
  EXPECT_EQ(out[1].handler.id, 2);
  ASSERT_TRUE(out[1].result);
  ASSERT_EQ(out[1].result->size(), 2u);
  EXPECT_EQ(out[1].result->at(0).str(), "one");
  EXPECT_EQ(out[1].result->at(1).as_integer(), 42);
  EXPECT_EQ(mux.in_flight(), 0u);
}

// Simple replies are built from the bytes read, the rest by the reader: a read mixing them
// (a simple reply, an array, simple replies after it, one cut at the end of the read and
// finished by the next) still gives every caller its own replies, in order.
TEST(Multiplexer, SimpleRepliesAndReaderRepliesMixInOneRead) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  for (int id = 1; id <= 5; ++id) mux.submit(raw("x"), 1, kNever, Caller{id}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  const std::string first = "+OK\r\n*2\r\n:1\r\n" + bulk("a") + ":-7\r\n" + bulk("tail");
  const std::string cut = "$5\r\nab";  // the fifth reply, cut
  const std::string read1 = first + cut;
  mux.on_read(read1.data(), read1.size(), out);
  ASSERT_EQ(out.size(), 4u);
  const std::string read2 = "cde\r\n";
  mux.on_read(read2.data(), read2.size(), out);
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out[static_cast<std::size_t>(i)].handler.id, i + 1);
    ASSERT_TRUE(out[static_cast<std::size_t>(i)].result);
    ASSERT_EQ(out[static_cast<std::size_t>(i)].result->size(), 1u);
  }
  EXPECT_EQ(out[0].result->at(0), Reply::status("OK"));
  EXPECT_EQ(out[1].result->at(0), Reply::array({Reply::integer(1), Reply::string("a")}));
  EXPECT_EQ(out[2].result->at(0), Reply::integer(-7));
  EXPECT_EQ(out[3].result->at(0), Reply::string("tail"));
  EXPECT_EQ(out[4].result->at(0), Reply::string("abcde"));
  EXPECT_EQ(mux.in_flight(), 0u);
  EXPECT_FALSE(mux.error());
}

TEST(Multiplexer, CancelledWrittenRequestsLateReplyIsDropped) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  const auto a = mux.submit(raw("a"), 1, kNever, Caller{1}, out);
  mux.submit(raw("b"), 1, kNever, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.cancel(a, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 1);
  EXPECT_EQ(out[0].result.error().code(), errc::cancelled);
  out.clear();
  mux.cancel(a, out);
  EXPECT_TRUE(out.empty()) << "a second cancel completes nothing";
  EXPECT_EQ(mux.in_flight(), 2u) << "the cancelled request's reply is still expected";
  const std::string bytes = bulk("for-a") + bulk("for-b");
  mux.on_read(bytes.data(), bytes.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 2);
  EXPECT_EQ(out[0].result->at(0).str(), "for-b");
  EXPECT_FALSE(mux.error());
}

TEST(Multiplexer, CancelledUnwrittenRequestIsNeverSent) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(raw("a"), 1, kNever, Caller{1}, out);
  const auto b = mux.submit(raw("b"), 1, kNever, Caller{2}, out);
  mux.submit(raw("c"), 1, kNever, Caller{3}, out);
  mux.cancel(b, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 2);
  EXPECT_EQ(mux.in_flight(), 2u);
  ASSERT_TRUE(mux.claim_writer());
  EXPECT_EQ(written(mux.prepare_write()), "ac");
}

TEST(Multiplexer, DeadlineFailsEverythingAndTellsWhenToLook) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  const auto t0 = Clock::time_point{} + 1h;
  mux.submit(raw("a"), 1, t0 + 200ms, Caller{1}, out);
  const auto b = mux.submit(raw("b"), 1, t0 + 100ms, Caller{2}, out);
  EXPECT_EQ(mux.next_deadline(), t0 + 100ms);
  mux.cancel(b, out);
  out.clear();
  EXPECT_EQ(mux.next_deadline(), t0 + 200ms) << "nobody waits for a cancelled request";
  mux.on_time(t0 + 150ms, out);
  EXPECT_TRUE(out.empty());
  mux.on_time(t0 + 200ms, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 1);
  EXPECT_EQ(out[0].result.error().code(), errc::timeout);
  EXPECT_EQ(mux.next_deadline(), kNever);
  out.clear();
  mux.submit(raw("c"), 1, kNever, Caller{3}, out);
  ASSERT_EQ(out.size(), 1u) << "a failed multiplexer answers at once";
  EXPECT_EQ(out[0].result.error().code(), errc::timeout);
}

TEST(Multiplexer, UnexpectedReplyFailsTheConnection) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(raw("a"), 1, kNever, Caller{1}, out);  // queued, not written: no reply expected
  const std::string push = "*3\r\n" + bulk("message") + bulk("ch") + bulk("hi");
  mux.on_read(push.data(), push.size(), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].result.error().code(), errc::protocol_error);
  ASSERT_TRUE(mux.error());
}

TEST(Multiplexer, MalformedBytesFailEverythingInFlight) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(raw("a"), 1, kNever, Caller{1}, out);
  mux.submit(raw("b"), 1, kNever, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  const std::string bad = "?what\r\n";
  mux.on_read(bad.data(), bad.size(), out);
  ASSERT_EQ(out.size(), 2u);
  for (auto& c : out) EXPECT_EQ(c.result.error().code(), errc::protocol_error);
  EXPECT_FALSE(mux.claim_writer());
  EXPECT_TRUE(mux.prepare_write().empty());
}

TEST(Multiplexer, ReplyOverMaxReplyBytesFailsEverythingInFlight) {
  Mux mux("h:1", 100ms, 1024);
  Mux::Completions out;
  mux.submit(raw("a"), 1, kNever, Caller{1}, out);
  mux.submit(raw("b"), 1, kNever, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  // A reply that never ends (a status line with no CRLF), arriving in small reads: it is cut
  // once it passes the bound, not buffered forever.
  const std::string piece(100, 'x');
  mux.on_read("+", 1, out);
  for (int i = 0; i < 20 && out.empty(); ++i) mux.on_read(piece.data(), piece.size(), out);
  ASSERT_EQ(out.size(), 2u) << "both requests fail, not only the one the reply belongs to";
  for (auto& c : out) {
    ASSERT_FALSE(c.result);
    EXPECT_EQ(c.result.error().code(), errc::protocol_error);
    EXPECT_NE(c.result.error().message().find("max_reply_bytes"), std::string::npos)
        << c.result.error().message();
  }
  ASSERT_TRUE(mux.error());
  EXPECT_EQ(mux.in_flight(), 0u);
  out.clear();
  mux.submit(raw("c"), 1, kNever, Caller{3}, out);
  ASSERT_EQ(out.size(), 1u) << "a later submit fails at once";
  EXPECT_FALSE(out[0].result);
}

TEST(Multiplexer, ReplyUpToMaxReplyBytesIsDelivered) {
  Mux mux("h:1", 100ms, 1024);
  Mux::Completions out;
  mux.submit(raw("a"), 1, kNever, Caller{1}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  const std::string reply = bulk(std::string(900, 'v'));
  mux.on_read(reply.data(), reply.size(), out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].result);
  EXPECT_EQ(out[0].result->at(0).str().size(), 900u);
  EXPECT_FALSE(mux.error());
}

// A surplus reply behind matched ones: the connection is already broken when the matched
// replies reach their callers, so none of them can return it to the pool as healthy.
TEST(Multiplexer, SurplusReplyBreaksBeforeTheMatchedRepliesAreDelivered) {
  Mux mux("h:1", 100ms);
  Mux::Completions out;
  mux.submit(raw("a"), 1, kNever, Caller{1}, out);
  mux.submit(raw("b"), 1, kNever, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.on_written(out);
  const std::string bytes = "+one\r\n+two\r\n+surplus\r\n";
  mux.on_read(bytes.data(), bytes.size(), out);
  // Nothing has been delivered yet (the driver runs `out` after on_read returns), and the
  // multiplexer has already failed.
  ASSERT_TRUE(mux.error());
  EXPECT_EQ(mux.error()->code(), errc::protocol_error);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].handler.id, 1);
  ASSERT_TRUE(out[0].result);
  EXPECT_EQ(out[0].result->at(0).str(), "one");
  EXPECT_EQ(out[1].handler.id, 2);
  ASSERT_TRUE(out[1].result);
  EXPECT_EQ(out[1].result->at(0).str(), "two");
  EXPECT_EQ(mux.pending(), 0u);
}

// Random interleavings of submit / cancel / write / partial replies / deadlines / loss: every
// handler completes exactly once, and replies never reach the wrong caller.
TEST(Multiplexer, RandomizedInterleavingsCompleteEachCallerOnceWithItsOwnReplies) {
  for (std::uint32_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
    Mux mux("h:1", 100ms);
    Mux::Completions out;
    auto now = Clock::time_point{} + 1h;
    struct Want {
      std::uint64_t mux_id = 0;
      std::size_t expected = 1;
      int completions = 0;
      bool cancelled = false;
    };
    std::map<int, Want> callers;
    std::string server_in;   // bytes the server received, not parsed yet
    std::string server_out;  // replies the server sent, not read yet
    bool writing = false;
    int next_caller = 1;

    auto check = [&] {
      for (auto& c : out) {
        auto it = callers.find(c.handler.id);
        ASSERT_NE(it, callers.end()) << "seed " << seed;
        Want& w = it->second;
        ++w.completions;
        ASSERT_EQ(w.completions, 1) << "seed " << seed << " caller " << c.handler.id;
        if (w.cancelled) {
          ASSERT_FALSE(c.result) << "seed " << seed;
          ASSERT_EQ(c.result.error().code(), errc::cancelled);
        }
        if (c.result) {
          ASSERT_EQ(c.result->size(), w.expected) << "seed " << seed;
          for (std::size_t j = 0; j < w.expected; ++j) {
            ASSERT_EQ((*c.result)[j].str(), std::to_string(c.handler.id) + "." + std::to_string(j))
                << "seed " << seed << ": a reply reached the wrong caller";
          }
        }
      }
      out.clear();
    };
    // The fake server answers each request "<caller>:<n>;" with n bulk strings "<caller>.<j>".
    auto serve = [&] {
      for (auto semi = server_in.find(';'); semi != std::string::npos; semi = server_in.find(';')) {
        const std::string req = server_in.substr(0, semi);
        server_in.erase(0, semi + 1);
        const auto colon = req.find(':');
        const std::string who = req.substr(0, colon);
        const int n = std::stoi(req.substr(colon + 1));
        for (int j = 0; j < n; ++j) server_out += bulk(who + "." + std::to_string(j));
      }
    };

    bool lost = false;
    const int steps = 20 + pick(60);
    for (int step = 0; step < steps && !lost; ++step) {
      switch (pick(7)) {
        case 0:
        case 1: {  // submit
          const int id = next_caller++;
          const std::size_t n = 1 + static_cast<std::size_t>(pick(3));
          const auto deadline = pick(4) == 0 ? kNever : now + std::chrono::milliseconds(pick(50));
          Want w;
          w.expected = n;
          callers[id] = w;
          callers[id].mux_id = mux.submit(raw(std::to_string(id) + ":" + std::to_string(n) + ";"),
                                          n, deadline, Caller{id}, out);
          break;
        }
        case 2: {  // cancel a random caller (maybe finished already)
          if (callers.empty()) break;
          auto it = callers.begin();
          std::advance(it, pick(static_cast<int>(callers.size())));
          if (it->second.completions == 0) it->second.cancelled = true;
          mux.cancel(it->second.mux_id, out);
          // A caller that completed before the cancel keeps its result.
          if (out.empty()) it->second.cancelled = false;
          break;
        }
        case 3: {  // a write round starts (the kernel takes the bytes) or completes
          if (!writing) {
            if (mux.claim_writer()) {
              server_in += written(mux.prepare_write());
              writing = true;
            }
          } else {
            mux.on_written(out);
            const std::string more = written(mux.prepare_write());
            server_in += more;
            writing = !more.empty();
          }
          serve();
          break;
        }
        case 4:
        case 5: {  // part of the replies arrive
          if (server_out.empty()) break;
          const auto n = 1 + static_cast<std::size_t>(pick(static_cast<int>(server_out.size())));
          mux.on_read(server_out.data(), n, out);
          server_out.erase(0, n);
          break;
        }
        case 6: {  // time passes; sometimes the connection is lost
          now += std::chrono::milliseconds(pick(20));
          mux.on_time(now, out);
          if (pick(15) == 0) {
            mux.fail(Error(errc::io_error, "lost"), out);
            lost = true;
          }
          break;
        }
      }
      check();
      if (HasFatalFailure()) return;
    }
    // Drain: write and answer everything, then lose the connection; nobody is left waiting.
    for (int round = 0; round < 4; ++round) {
      if (writing) {
        mux.on_written(out);
        const std::string more = written(mux.prepare_write());
        server_in += more;
        writing = !more.empty();
      } else if (mux.claim_writer()) {
        server_in += written(mux.prepare_write());
        writing = true;
      }
      serve();
      mux.on_read(server_out.data(), server_out.size(), out);
      server_out.clear();
      check();
      if (HasFatalFailure()) return;
    }
    if (!mux.error()) {
      EXPECT_EQ(mux.in_flight(), 0u) << "seed " << seed;
    }
    mux.fail(Error(errc::io_error, "closed"), out);
    check();
    for (const auto& [id, w] : callers) {
      ASSERT_EQ(w.completions, 1) << "seed " << seed << " caller " << id;
    }
  }
}

}  // namespace
}  // namespace connpool::redis::detail
