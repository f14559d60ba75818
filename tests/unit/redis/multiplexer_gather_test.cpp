// Scatter/gather writes of large arguments: the wire bytes equal hiredis's formatting, the large
// value is written from the caller's buffer (no copy), and a request whose bytes the current
// write borrows is not completed (so its caller cannot free them) until that write is done,
// whether it is cancelled or the connection fails meanwhile.
#include "detail/multiplexer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {
namespace {

struct Caller {
  int id = 0;
};
using Mux = Multiplexer<Caller>;
const auto kNever = std::chrono::steady_clock::time_point::max();
constexpr std::size_t kMin = 64 * 1024;

std::string joined(std::span<const boost::asio::const_buffer> buffers) {
  std::string s;
  for (const auto& b : buffers) s.append(static_cast<const char*>(b.data()), b.size());
  return s;
}

std::string formatted(std::span<const std::string_view> args) {
  auto cmd = FormattedCommand::format(args);
  EXPECT_TRUE(cmd);
  return std::string(cmd->data(), cmd->size());
}

TEST(MultiplexerGather, SameBytesAsHiredisAndTheValueIsNotCopied) {
  const std::string big(std::size_t{1} << 20, 'x');
  const std::string big2(kMin, '\0');
  const std::vector<std::vector<std::string_view>> commands{
      {"SET", "key", big},
      {"MSET", "a", big, "b", "small", "c", big2},
      {"SET", std::string_view(big2), "v"},
      {"GET", "k"}};
  for (const auto& args : commands) {
    Mux mux("h:1", std::chrono::milliseconds(100));
    Mux::Completions out;
    mux.submit(Chunk::gather(args, kMin), 1, kNever, Caller{1}, out);
    ASSERT_TRUE(mux.claim_writer());
    const auto buffers = mux.prepare_write();
    EXPECT_EQ(joined(buffers), formatted(args)) << args[0];
    std::size_t borrowed = 0;
    for (const auto& b : buffers) {
      for (const auto& a : args) {
        if (a.size() >= kMin && b.data() == a.data()) ++borrowed;
      }
    }
    std::size_t large = 0;
    for (const auto& a : args) large += a.size() >= kMin ? 1 : 0;
    EXPECT_EQ(borrowed, large) << "every large argument is written from the caller's buffer";
    mux.on_written(out);
    EXPECT_TRUE(out.empty());
  }
}

TEST(MultiplexerGather, CancelDuringTheWriteCompletesOnlyAfterIt) {
  const std::string big(std::size_t{1} << 20, 'v');
  const std::vector<std::string_view> args{"SET", "k", big};
  Mux mux("h:1", std::chrono::milliseconds(100));
  Mux::Completions out;
  const auto id = mux.submit(Chunk::gather(args, kMin), 1, kNever, Caller{1}, out);
  const auto small = mux.submit(Chunk::gather(std::vector<std::string_view>{"GET", "k"}, kMin), 1,
                                kNever, Caller{2}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  mux.cancel(id, out);
  EXPECT_TRUE(out.empty()) << "the write still reads the caller's value";
  mux.cancel(small, out);
  ASSERT_EQ(out.size(), 1u) << "a request lending nothing completes at once";
  EXPECT_EQ(out[0].handler.id, 2);
  out.clear();
  mux.on_written(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 1);
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code(), errc::cancelled);
  out.clear();
  // Both replies still come, in order, and are dropped.
  const std::string replies = "+OK\r\n$-1\r\n";
  mux.on_read(replies.data(), replies.size(), out);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(mux.error());
  EXPECT_EQ(mux.in_flight(), 0u);
}

TEST(MultiplexerGather, FailureDuringTheWriteHoldsBorrowersUntilItEnds) {
  const std::string big(kMin, 'v');
  const std::vector<std::string_view> args{"SET", "k", big};
  Mux mux("h:1", std::chrono::milliseconds(100));
  Mux::Completions out;
  mux.submit(Chunk::gather(args, kMin), 1, kNever, Caller{1}, out);
  ASSERT_TRUE(mux.claim_writer());
  (void)mux.prepare_write();
  // Queued behind the write: never written, so it fails at once.
  mux.submit(Chunk::gather(args, kMin), 1, kNever, Caller{2}, out);
  mux.fail(Error(errc::io_error, "lost"), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 2);
  out.clear();
  mux.on_written(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handler.id, 1);
  EXPECT_EQ(out[0].result.error().code(), errc::io_error);
  EXPECT_TRUE(mux.prepare_write().empty());
}

TEST(MultiplexerGather, CancelBeforeTheWriteIsNeverSent) {
  const std::string big(kMin, 'v');
  const std::vector<std::string_view> args{"SET", "k", big};
  Mux mux("h:1", std::chrono::milliseconds(100));
  Mux::Completions out;
  const auto id = mux.submit(Chunk::gather(args, kMin), 1, kNever, Caller{1}, out);
  mux.cancel(id, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(mux.claim_writer()) << "nothing left to write";
}

}  // namespace
}  // namespace connpool::redis::detail
