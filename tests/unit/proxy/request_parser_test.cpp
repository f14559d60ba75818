// RequestParser: RESP2 multibulk and inline requests, split anywhere, limits, hostile bytes.
#include "connpool/proxy/request_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace connpool::proxy {
namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;
using Status = RequestParser::Status;

std::vector<Args> parse_all(RequestParser& p, Status* last = nullptr) {
  std::vector<Args> out;
  Args args;
  for (;;) {
    const auto s = p.next(args);
    if (s != Status::request) {
      if (last) *last = s;
      return out;
    }
    out.push_back(args);
  }
}

const std::string kTwo =
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nx\0\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"s;

TEST(RequestParser, MultibulkPipelinedAndBinarySafe) {
  RequestParser p;
  p.feed(kTwo);
  Status last{};
  const auto reqs = parse_all(p, &last);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0], (Args{"SET", "k", "v\r\nx\0"s}));
  EXPECT_EQ(reqs[1], (Args{"GET", "k"}));
  EXPECT_EQ(last, Status::need_more);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(RequestParser, EverySplitPointGivesTheSameRequests) {
  for (std::size_t cut = 0; cut <= kTwo.size(); ++cut) {
    RequestParser p;
    p.feed(kTwo.substr(0, cut));
    auto reqs = parse_all(p);
    p.feed(kTwo.substr(cut));
    auto rest = parse_all(p);
    reqs.insert(reqs.end(), rest.begin(), rest.end());
    ASSERT_EQ(reqs.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(reqs[1], (Args{"GET", "k"}));
  }
}

// last_wire() is what the proxy forwards instead of re-encoding: exactly each multibulk
// request's bytes, wherever the reads were cut (the buffer moves between feeds); empty for
// inline requests and after a feed.
TEST(RequestParser, LastWireIsEachMultibulkRequestsOwnBytes) {
  const std::string first = kTwo.substr(0, kTwo.find("*2"));
  const std::string second = kTwo.substr(first.size());
  for (std::size_t cut = 0; cut <= kTwo.size(); ++cut) {
    RequestParser p;
    std::vector<std::string> wires;
    Args args;
    p.feed(kTwo.substr(0, cut));
    while (p.next(args) == Status::request) wires.emplace_back(p.last_wire());
    p.feed(kTwo.substr(cut));
    EXPECT_TRUE(p.last_wire().empty());
    while (p.next(args) == Status::request) wires.emplace_back(p.last_wire());
    ASSERT_EQ(wires.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(wires[0], first);
    EXPECT_EQ(wires[1], second);
  }
  RequestParser p;
  p.feed("GET k\r\n*0\r\n");
  Args args;
  ASSERT_EQ(p.next(args), Status::request);
  EXPECT_TRUE(p.last_wire().empty()) << "an inline request has no RESP bytes to forward";
}

// A caller handing the same vector back gets its strings reused (no allocation per argument),
// and never sees a previous request's bytes in the next one's arguments.
TEST(RequestParser, ArgumentStringsAreReusedAcrossRequests) {
  RequestParser p;
  const std::string big(40, 'v');
  p.feed("*3\r\n$3\r\nSET\r\n$20\r\nkey:__rand_int__0001\r\n$40\r\n" + big +
         "\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
         "*2\r\n$3\r\nGET\r\n$20\r\nkey:__rand_int__0002\r\n");
  Args args;
  ASSERT_EQ(p.next(args), Status::request);
  EXPECT_EQ(args, (Args{"SET", "key:__rand_int__0001", big}));
  ASSERT_EQ(p.next(args), Status::request);
  EXPECT_EQ(args, (Args{"SET", "k", "v"}));
  ASSERT_EQ(p.next(args), Status::request);
  EXPECT_EQ(args, (Args{"GET", "key:__rand_int__0002"}));
  p.feed("*2\r\n$3\r\nGET\r\n$20\r\nkey:__rand_int__0003\r\n");
  ASSERT_EQ(p.next(args), Status::request);
  EXPECT_EQ(args, (Args{"GET", "key:__rand_int__0003"}));
  ASSERT_EQ(p.next(args), Status::need_more);
}

TEST(RequestParser, ByteByByte) {
  RequestParser p;
  std::vector<Args> reqs;
  for (char c : kTwo) {
    p.feed(std::string(1, c));
    auto more = parse_all(p);
    reqs.insert(reqs.end(), more.begin(), more.end());
  }
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0][2], "v\r\nx\0"s);
}

TEST(RequestParser, InlineCommandsWithQuotes) {
  RequestParser p;
  p.feed("PING\r\n\r\nset k \"a b\\x41\\n\" 'it\\'s'\nGET k\r\n");
  const auto reqs = parse_all(p);
  ASSERT_EQ(reqs.size(), 3u);  // the empty line is skipped
  EXPECT_EQ(reqs[0], (Args{"PING"}));
  EXPECT_EQ(reqs[1], (Args{"set", "k", "a bA\n", "it's"}));
  EXPECT_EQ(reqs[2], (Args{"GET", "k"}));
}

TEST(RequestParser, UnbalancedQuotesAreAnError) {
  RequestParser p;
  p.feed("SET k \"abc\r\n");
  Args args;
  EXPECT_EQ(p.next(args), Status::error);
  EXPECT_NE(p.error().find("unbalanced quotes"), std::string::npos);
}

TEST(RequestParser, EmptyMultibulkIsSkipped) {
  RequestParser p;
  p.feed("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
  const auto reqs = parse_all(p);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0], (Args{"PING"}));
}

struct BadCase {
  std::string input;
  std::string message_part;
};

TEST(RequestParser, MalformedInputNamesTheProblem) {
  const BadCase cases[] = {
      {"*x\r\n", "invalid multibulk length"},
      {"*2\r\n:3\r\n", "expected '$', got ':'"},
      {"*1\r\n$-3\r\n", "invalid bulk length"},
      {"*1\r\n$abc\r\n", "invalid bulk length"},
      {"*1\r\n$3\r\nabcXY", "not terminated by CRLF"},
      {"*1" + std::string(100, '1'), "invalid multibulk length"},
      {"*1\r\n$" + std::string(100, '9'), "invalid bulk length"},
  };
  for (const auto& c : cases) {
    RequestParser p;
    p.feed(c.input);
    Args args;
    ASSERT_EQ(p.next(args), Status::error) << c.input;
    EXPECT_NE(p.error().find(c.message_part), std::string::npos) << p.error();
    EXPECT_EQ(p.error().rfind("Protocol error", 0), 0u);
    // It stays failed and buffers nothing more.
    p.feed("*1\r\n$4\r\nPING\r\n");
    EXPECT_EQ(p.next(args), Status::error);
    EXPECT_EQ(p.buffered(), 0u);
  }
}

TEST(RequestParser, LimitsAreEnforcedBeforeBuffering) {
  ParserLimits limits;
  limits.max_request_bytes = 100;
  limits.max_args = 3;
  limits.max_inline_bytes = 16;
  {
    RequestParser p(limits);
    p.feed("*1\r\n$1000000000\r\n");  // declared, not sent: refused at once
    Args args;
    ASSERT_EQ(p.next(args), Status::error);
    EXPECT_NE(p.error().find("max_request_bytes"), std::string::npos);
  }
  {
    RequestParser p(limits);
    p.feed("*4\r\n");
    Args args;
    ASSERT_EQ(p.next(args), Status::error);
    EXPECT_NE(p.error().find("max_args 3"), std::string::npos);
  }
  {
    RequestParser p(limits);
    p.feed(std::string(17, 'a'));  // no newline yet, already over
    Args args;
    ASSERT_EQ(p.next(args), Status::error);
    EXPECT_NE(p.error().find("max_inline_bytes"), std::string::npos);
  }
  {
    // Many small arguments adding up past the limit.
    RequestParser p(limits);
    std::string req = "*3\r\n";
    for (int i = 0; i < 3; ++i) req += "$40\r\n" + std::string(40, 'x') + "\r\n";
    p.feed(req);
    Args args;
    ASSERT_EQ(p.next(args), Status::error);
    EXPECT_NE(p.error().find("max_request_bytes"), std::string::npos);
  }
}

TEST(RequestParser, LongPipelineKeepsTheBufferSmall) {
  RequestParser p;
  const std::string one = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  Args args;
  for (int i = 0; i < 10000; ++i) {
    p.feed(one);
    ASSERT_EQ(p.next(args), Status::request);
  }
  EXPECT_EQ(p.buffered(), 0u);
}

// Randomized hostile input: mutations of valid requests and pure noise. Whatever arrives, the
// parser returns (no crash, no hang), keeps within its limits, and every request it accepts
// respects max_args.
TEST(RequestParser, RandomBytesNeverBreakIt) {
  std::mt19937 rng(20261207);
  ParserLimits limits;
  limits.max_request_bytes = 4096;
  limits.max_args = 16;
  limits.max_inline_bytes = 512;
  const std::string alphabet = "*$\r\n:-+0123456789abc \"'\\x";
  for (int round = 0; round < 3000; ++round) {
    RequestParser p(limits);
    std::string input = round % 2 == 0 ? kTwo + kTwo : std::string();
    const int edits = 1 + static_cast<int>(rng() % 20);
    for (int e = 0; e < edits; ++e) {
      const char c =
          rng() % 4 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
      if (!input.empty() && rng() % 2 == 0) {
        input[rng() % input.size()] = c;
      } else {
        input.insert(input.empty() ? 0 : rng() % input.size(), 1, c);
      }
    }
    std::size_t at = 0;
    Args args;
    while (at < input.size()) {
      const std::size_t n = 1 + rng() % 17;
      p.feed(std::string_view(input).substr(at, n));
      at += n;
      for (int guard = 0; guard < 10000; ++guard) {
        const auto s = p.next(args);
        if (s != Status::request) break;
        ASSERT_LE(args.size(), limits.max_args);
      }
      ASSERT_LE(p.buffered(), limits.max_request_bytes + 64);
    }
  }
}

}  // namespace
}  // namespace connpool::proxy
