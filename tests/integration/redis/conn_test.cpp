// redis::Connection against real redis-server instances (plain, requirepass, ACL user, TLS,
// Unix socket) and two tiny fake servers (one sending malformed RESP, one never answering).
#include "connpool/redis/connection.hpp"

#include "support/redis_fake_server.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis {
namespace {

namespace asio = boost::asio;
using connpool::test::FakeServer;
using connpool::test::IoThreads;
using connpool::test::RedisServer;
using connpool::test::RedisServerOptions;
using std::chrono::milliseconds;
using ConnPtr = std::unique_ptr<Connection>;

std::unique_ptr<RedisServer> start_server(RedisServerOptions o = {}) {
  std::string err;
  auto s = RedisServer::start(std::move(o), &err);
  EXPECT_TRUE(s) << err;
  return s;
}

RedisUrl url_of(const std::string& text) {
  auto u = RedisUrl::parse(text);
  EXPECT_TRUE(u) << u.error().to_string();
  return *u;
}

Result<ConnPtr> open(IoThreads& io, const std::string& url) {
  return io.run(Connection::connect(io.executor(), url_of(url)));
}

Result<Reply> cmd(IoThreads& io, Connection& c, std::vector<std::string> args) {
  return io.run([](Connection& c, std::vector<std::string> args) -> asio::awaitable<Result<Reply>> {
    std::vector<std::string_view> views(args.begin(), args.end());
    co_return co_await c.execute(views);
  }(c, std::move(args)));
}

class ConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = start_server().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  static RedisServer* server_;
  IoThreads io_{2};
};
RedisServer* ConnectionTest::server_ = nullptr;

TEST_F(ConnectionTest, PingSetGet) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*cmd(io_, **c, {"PING"}), Reply::status("PONG"));
  EXPECT_EQ(*cmd(io_, **c, {"SET", "conn:k", "v"}), Reply::status("OK"));
  EXPECT_EQ(*cmd(io_, **c, {"GET", "conn:k"}), Reply::string("v"));
  EXPECT_TRUE(cmd(io_, **c, {"GET", "conn:missing"})->is_nil());
  EXPECT_EQ(*cmd(io_, **c, {"CLIENT", "GETNAME"}), Reply::string("connpool"));
  EXPECT_FALSE((*c)->broken());
}

TEST_F(ConnectionTest, ErrorReplyIsAResultNotABrokenConnection) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  auto r = cmd(io_, **c, {"NOSUCHCOMMAND", "x"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error());
  EXPECT_NE(r->str().find("unknown command"), std::string::npos);
  EXPECT_FALSE((*c)->broken());
  EXPECT_EQ(*cmd(io_, **c, {"PING"}), Reply::status("PONG"));
}

TEST_F(ConnectionTest, BinaryKeysAndValuesWithNuls) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  const std::string key("bin\0key\r\n", 9);
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  EXPECT_EQ(*cmd(io_, **c, {"SET", key, value}), Reply::status("OK"));
  EXPECT_EQ(*cmd(io_, **c, {"GET", key}), Reply::string(value));
  EXPECT_EQ(*cmd(io_, **c, {"STRLEN", key}), Reply::integer(256));
}

TEST_F(ConnectionTest, SixteenMebibyteValue) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  std::string big(16u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>(i % 251);
  EXPECT_EQ(*cmd(io_, **c, {"SET", "conn:big", big}), Reply::status("OK"));
  auto got = cmd(io_, **c, {"GET", "conn:big"});
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_TRUE(got->is_string());
  EXPECT_EQ(got->str().size(), big.size());
  EXPECT_TRUE(got->str() == big);
  EXPECT_EQ(*cmd(io_, **c, {"DEL", "conn:big"}), Reply::integer(1));
}

TEST_F(ConnectionTest, ConcurrentCallersShareOneConnectionInOrder) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  Connection& conn = **c;
  constexpr int kCallers = 50;
  constexpr int kOps = 100;
  std::vector<std::future<int>> done;
  for (int caller = 0; caller < kCallers; ++caller) {
    done.push_back(asio::co_spawn(
        io_.context(),
        [](Connection& conn, int caller) -> asio::awaitable<int> {
          int mismatches = 0;
          for (int i = 0; i < kOps; ++i) {
            const std::string key = "conn:pipe:" + std::to_string(caller);
            const std::string value = std::to_string(caller * 100000 + i);
            const std::vector<std::string_view> set{"SET", key, value};
            auto s = co_await conn.execute(set);
            if (!s || !s->is_status()) ++mismatches;
            const std::vector<std::string_view> get{"GET", key};
            auto g = co_await conn.execute(get);
            if (!g || g->str() != value) ++mismatches;
            const std::vector<std::string_view> incr{"INCR", "conn:pipe:counter"};
            auto n = co_await conn.execute(incr);
            if (!n || !n->is_integer()) ++mismatches;
          }
          co_return mismatches;
        }(conn, caller),
        asio::use_future));
  }
  int mismatches = 0;
  for (auto& f : done) mismatches += f.get();
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(*cmd(io_, conn, {"GET", "conn:pipe:counter"}),
            Reply::string(std::to_string(kCallers * kOps)));
  EXPECT_EQ(conn.in_flight(), 0u);
}

// One io thread, one caller: the request is written inline from the caller (dispatch onto
// the idle strand, one send) and the reply resumes the caller inside the connection's reader.
// The caller then closes and destroys its connection right there, with the reader still on the
// stack, and a caller alternating small commands with a value too large for one send (the
// rest goes through async_write) still gets every reply in order.
TEST_F(ConnectionTest, OneCallerOnOneIoThreadWritesInlineAndMayCloseInItsCompletion) {
  IoThreads one(1);
  const std::string url = server_->url();
  auto wrong = one.run([](RedisUrl u) -> asio::awaitable<int> {
    auto ex = co_await asio::this_coro::executor;
    int wrong = 0;
    for (int i = 0; i < 50; ++i) {
      auto c = co_await Connection::connect(ex, u);
      if (!c) co_return -1;
      const std::string value = "v" + std::to_string(i);
      const std::vector<std::string_view> set{"SET", "conn:inline", value};
      const std::vector<std::string_view> get{"GET", "conn:inline"};
      auto s = co_await (*c)->execute(set);
      auto g = co_await (*c)->execute(get);
      if (!s || !g || g->str() != value) ++wrong;
      if ((*c)->in_flight() != 0) ++wrong;
      (*c)->close();  // inside the completion: the reader that resumed us is below this frame
      c->reset();
    }
    auto c = co_await Connection::connect(ex, u);
    if (!c) co_return -1;
    const std::string big(8u << 20, 'b');  // more than a loopback socket takes in one send
    for (int i = 0; i < 4; ++i) {
      const std::vector<std::string_view> set{"SET", "conn:inline:big", big};
      const std::string tag = std::to_string(i);
      const std::vector<std::string_view> echo{"ECHO", tag};
      auto s = co_await (*c)->execute(set);
      auto e = co_await (*c)->execute(echo);
      if (!s || !s->is_status() || !e || e->str() != tag) ++wrong;
    }
    const std::vector<std::string_view> strlen{"STRLEN", "conn:inline:big"};
    auto n = co_await (*c)->execute(strlen);
    if (!n || !n->is_integer() || n->as_integer() != static_cast<long long>(big.size())) ++wrong;
    co_return wrong;
  }(url_of(url)));
  EXPECT_EQ(wrong, 0);
}

TEST_F(ConnectionTest, BatchRepliesInOrderIncludingMultiExec) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  RequestBatch batch;
  const std::vector<std::string_view> del{"DEL", "conn:b"};
  const std::vector<std::string_view> multi{"MULTI"};
  const std::vector<std::string_view> incr{"INCR", "conn:b"};
  const std::vector<std::string_view> exec{"EXEC"};
  batch.add(del);
  batch.add(multi);
  batch.add(incr);
  batch.add(incr);
  batch.add(exec);
  auto r = io_.run((*c)->execute(batch));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[1], Reply::status("OK"));
  EXPECT_EQ((*r)[2], Reply::status("QUEUED"));
  std::vector<Reply> results{Reply::integer(1), Reply::integer(2)};
  EXPECT_EQ((*r)[4], Reply::array(results));
}

TEST_F(ConnectionTest, ServerKillsConnectionAllPendingFailWithIoError) {
  auto c = open(io_, server_->url("client_name=victim"));
  ASSERT_TRUE(c);
  auto admin = open(io_, server_->url());
  ASSERT_TRUE(admin);
  EXPECT_EQ(*cmd(io_, **admin, {"CLIENT", "KILL", "SKIPME", "yes", "USER", "default"}),
            Reply::integer(1));
  auto r = cmd(io_, **c, {"PING"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::io_error) << r.error().to_string();
  EXPECT_TRUE((*c)->broken());
  auto again = cmd(io_, **c, {"PING"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), errc::io_error);
}

// A pool learns that an idle connection died from the reader, which sees the EOF at once.
TEST_F(ConnectionTest, OnBrokenFiresOnceWhenTheServerKillsAnIdleConnection) {
  auto c = open(io_, server_->url("client_name=idle-victim"));
  ASSERT_TRUE(c);
  std::promise<Error> broke;
  std::atomic<int> calls{0};
  (*c)->on_broken([&](const Error& e) {
    if (calls.fetch_add(1) == 0) broke.set_value(e);
  });
  auto admin = open(io_, server_->url());
  ASSERT_TRUE(admin);
  EXPECT_EQ(*cmd(io_, **admin, {"CLIENT", "KILL", "SKIPME", "yes", "USER", "default"}),
            Reply::integer(1));
  auto fired = broke.get_future();
  ASSERT_EQ(fired.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "no command was pending: only the reader can have noticed";
  EXPECT_EQ(fired.get().code(), errc::io_error);
  EXPECT_TRUE((*c)->broken());
  (*c)->close();
  EXPECT_EQ(calls.load(), 1) << "one-shot";
  std::atomic<bool> late{false};
  (*c)->on_broken([&](const Error&) { late = true; });
  EXPECT_TRUE(late.load()) << "a callback set after the break runs at once";
}

TEST_F(ConnectionTest, ClientPauseHonoursCommandTimeout) {
  auto c = open(io_, server_->url("command_timeout=200ms"));
  ASSERT_TRUE(c);
  auto admin = open(io_, server_->url());
  ASSERT_TRUE(admin);
  ASSERT_EQ(*cmd(io_, **admin, {"CLIENT", "PAUSE", "1500", "ALL"}), Reply::status("OK"));
  const auto start = std::chrono::steady_clock::now();
  auto r = cmd(io_, **c, {"GET", "conn:k"});
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::timeout) << r.error().to_string();
  EXPECT_TRUE((*c)->broken());
  EXPECT_GE(waited, milliseconds(190));
  EXPECT_LT(waited, milliseconds(1500)) << "the timeout fired only when the pause ended";
  (void)cmd(io_, **admin, {"CLIENT", "UNPAUSE"});
}

TEST_F(ConnectionTest, CancelledCallerLeavesConnectionUsable) {
  using namespace asio::experimental::awaitable_operators;
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  Connection& conn = **c;
  // BLPOP blocks 1 s on the server; the caller gives up after 50 ms.
  auto outcome = io_.run([](Connection& conn) -> asio::awaitable<int> {
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(50));
    const std::vector<std::string_view> blpop{"BLPOP", "conn:nothing", "1"};
    auto r = co_await (conn.execute(blpop) || timer.async_wait(asio::use_awaitable));
    co_return static_cast<int>(r.index());
  }(conn));
  EXPECT_EQ(outcome, 1);
  EXPECT_FALSE(conn.broken());
  // The late BLPOP reply (nil after 1 s) is dropped in order; the next caller gets its own.
  auto r = cmd(io_, conn, {"ECHO", "after"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, Reply::string("after"));
}

TEST_F(ConnectionTest, SelectsDatabase) {
  auto c = open(io_, server_->url().append("/5"));
  ASSERT_TRUE(c) << c.error().to_string();
  auto info = cmd(io_, **c, {"CLIENT", "INFO"});
  ASSERT_TRUE(info);
  EXPECT_NE(info->str().find(" db=5 "), std::string::npos) << info->str();
}

TEST_F(ConnectionTest, ConnectRefused) {
  const auto port = connpool::test::free_loopback_port();
  auto c = open(io_, "redis://127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), errc::connect_failed);
  EXPECT_NE(c.error().message().find("refused"), std::string::npos) << c.error().message();
}

TEST(ConnectionAuth, PasswordRightWrongAndMissing) {
  IoThreads io;
  RedisServerOptions o;
  o.requirepass = "correct-horse";
  auto server = start_server(o);
  ASSERT_TRUE(server);
  auto good = open(io, server->url());
  ASSERT_TRUE(good) << good.error().to_string();
  EXPECT_EQ(*cmd(io, **good, {"PING"}), Reply::status("PONG"));

  const std::string port = std::to_string(server->port());
  auto wrong = open(io, "redis://:battery-staple@127.0.0.1:" + port);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), errc::auth_failed);
  EXPECT_NE(wrong.error().message().find("WRONGPASS"), std::string::npos)
      << wrong.error().message();
  EXPECT_EQ(wrong.error().to_string().find("battery-staple"), std::string::npos);

  auto missing = open(io, "redis://127.0.0.1:" + port);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), errc::auth_failed) << missing.error().to_string();
}

TEST(ConnectionAuth, AclUser) {
  IoThreads io;
  RedisServerOptions o;
  o.acl_user = "app";
  o.acl_password = "app-secret";
  auto server = start_server(o);
  ASSERT_TRUE(server);
  auto c = open(io, server->url());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*cmd(io, **c, {"ACL", "WHOAMI"}), Reply::string("app"));
  auto wrong = open(io, "redis://app:nope-nope@127.0.0.1:" + std::to_string(server->port()));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), errc::auth_failed);
  EXPECT_NE(wrong.error().message().find("'app'"), std::string::npos);
  EXPECT_EQ(wrong.error().to_string().find("nope-nope"), std::string::npos);
}

TEST(ConnectionUnix, SocketAndDb) {
  IoThreads io;
  RedisServerOptions o;
  o.unix_socket = true;
  auto server = start_server(o);
  ASSERT_TRUE(server);
  auto c = open(io, "unix://" + server->socket_path() + "?db=3");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*cmd(io, **c, {"SET", "u", "1"}), Reply::status("OK"));
  auto info = cmd(io, **c, {"CLIENT", "INFO"});
  ASSERT_TRUE(info);
  EXPECT_NE(info->str().find(" db=3 "), std::string::npos);
}

class ConnectionTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RedisServerOptions o;
    o.tls = true;
    server_ = start_server(o).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  std::string base() const { return "rediss://127.0.0.1:" + std::to_string(server_->port()); }
  static RedisServer* server_;
  IoThreads io_;
};
RedisServer* ConnectionTls::server_ = nullptr;

TEST_F(ConnectionTls, VerifiedConnectionWorks) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*cmd(io_, **c, {"SET", "tls:k", "v"}), Reply::status("OK"));
  EXPECT_EQ(*cmd(io_, **c, {"GET", "tls:k"}), Reply::string("v"));
}

TEST_F(ConnectionTls, LocalhostNameMatchesSan) {
  auto c = open(io_, "rediss://localhost:" + std::to_string(server_->port()) +
                         "?tls_ca_file=" + server_->ca_file());
  ASSERT_TRUE(c) << c.error().to_string();
}

TEST_F(ConnectionTls, UntrustedCaFailsClearly) {
  auto c = open(io_, base() + "?tls_ca_file=" + server_->other_ca_file());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), errc::tls_error);
  EXPECT_NE(c.error().message().find("certificate"), std::string::npos) << c.error().message();
}

TEST_F(ConnectionTls, HostNameMismatchFails) {
  auto c = open(io_, base() + "?tls_ca_file=" + server_->ca_file() + "&tls_sni=wrong.example");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), errc::tls_error) << c.error().to_string();
  EXPECT_NE(c.error().message().find("does not match host name 'wrong.example'"), std::string::npos)
      << c.error().message();
}

TEST_F(ConnectionTls, VerifyOffAcceptsUntrusted) {
  auto c = open(io_, base() + "?tls_verify=false");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*cmd(io_, **c, {"PING"}), Reply::status("PONG"));
}

TEST_F(ConnectionTls, PlainClientToTlsPortFails) {
  auto c =
      open(io_, "redis://127.0.0.1:" + std::to_string(server_->port()) + "?connect_timeout=1s");
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(errc::io_error) || c.error().is(errc::protocol_error) ||
              c.error().is(errc::connect_timeout))
      << c.error().to_string();
}

TEST(ConnectionMutualTls, ClientCertificate) {
  IoThreads io;
  RedisServerOptions o;
  o.tls = true;
  o.tls_require_client_cert = true;
  auto server = start_server(o);
  ASSERT_TRUE(server);
  auto without = open(io, server->url("connect_timeout=2s"));
  ASSERT_FALSE(without);
  auto with = open(io, server->url("tls_cert_file=" + server->client_cert_file() +
                                   "&tls_key_file=" + server->client_key_file()));
  ASSERT_TRUE(with) << with.error().to_string();
  EXPECT_EQ(*cmd(io, **with, {"PING"}), Reply::status("PONG"));
}

TEST(ConnectionFake, MalformedRespIsProtocolErrorAndBreaks) {
  IoThreads io;
  FakeServer fake("%3\r\nnot resp2\r\n");
  auto c = open(io, fake.url("client_name="));
  ASSERT_TRUE(c) << c.error().to_string();
  auto r = cmd(io, **c, {"PING"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::protocol_error) << r.error().to_string();
  EXPECT_TRUE((*c)->broken());
}

// The deadline is enforced on the connection's own strand: the caller cancels nothing.
TEST(ConnectionFake, ConnectDeadlineIsEnforcedByTheConnection) {
  IoThreads io{4};
  FakeServer fake("");
  const auto start = std::chrono::steady_clock::now();
  auto c = io.run(Connection::connect(io.executor(), url_of(fake.url("connect_timeout=30s")),
                                      start + milliseconds(300)));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), errc::connect_timeout) << c.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "the deadline argument, not connect_timeout, bounded the attempt";
}

TEST(ConnectionFake, SilentServerGivesConnectTimeout) {
  IoThreads io;
  FakeServer fake("");
  const auto start = std::chrono::steady_clock::now();
  auto c = open(io, fake.url("connect_timeout=300ms"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), errc::connect_timeout) << c.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// execute_raw against redis-server: the replies' bytes exactly as RESP2 frames them (nested
// arrays, an error, nil, a value large enough to arrive in many reads), requests given in wire
// form, and raw and parsed callers interleaved on one connection.
TEST_F(ConnectionTest, RawBatchRelaysTheServersBytes) {
  auto c = open(io_, server_->url());
  ASSERT_TRUE(c);
  Connection& conn = **c;
  const std::string big(300 * 1024, 'b');
  EXPECT_EQ(*cmd(io_, conn, {"DEL", "conn:raw:l"}), Reply::integer(0));
  RequestBatch batch;
  const std::vector<std::vector<std::string_view>> commands = {{"SET", "conn:raw:k", "v"},
                                                               {"SET", "conn:raw:big", big},
                                                               {"RPUSH", "conn:raw:l", "a", ""},
                                                               {"LRANGE", "conn:raw:l", "0", "-1"},
                                                               {"NOSUCHCOMMAND"},
                                                               {"GET", "conn:raw:missing"},
                                                               {"GET", "conn:raw:big"}};
  for (const auto& command : commands) batch.add(command);
  batch.append_wire("*1\r\n$4\r\nPING\r\n", 1);
  auto r = io_.run(conn.execute_raw(std::move(batch)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->count, commands.size() + 1);
  EXPECT_EQ(r->errors, 1u);
  const std::string head = "+OK\r\n+OK\r\n:2\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n-ERR unknown command";
  const std::string tail = "$-1\r\n$" + std::to_string(big.size()) + "\r\n" + big + "\r\n+PONG\r\n";
  ASSERT_GE(r->bytes.size(), head.size() + tail.size());
  EXPECT_EQ(r->bytes.substr(0, head.size()), head);
  EXPECT_TRUE(r->bytes.substr(r->bytes.size() - tail.size()) == tail);

  constexpr int kCallers = 20;
  std::vector<std::future<int>> done;
  for (int caller = 0; caller < kCallers; ++caller) {
    done.push_back(asio::co_spawn(
        io_.context(),
        [](Connection& conn, int caller) -> asio::awaitable<int> {
          int mismatches = 0;
          for (int i = 0; i < 50; ++i) {
            const std::string value = std::to_string(caller * 1000 + i);
            const std::vector<std::string_view> echo{"ECHO", value};
            if (caller % 2 == 0) {
              RequestBatch b;
              b.add(echo);
              auto raw = co_await conn.execute_raw(std::move(b));
              const std::string want = "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
              if (!raw || raw->bytes != want) ++mismatches;
            } else {
              auto parsed = co_await conn.execute(echo);
              if (!parsed || parsed->str() != value) ++mismatches;
            }
          }
          co_return mismatches;
        }(conn, caller),
        asio::use_future));
  }
  int mismatches = 0;
  for (auto& f : done) mismatches += f.get();
  EXPECT_EQ(mismatches, 0);
  EXPECT_FALSE(conn.broken());
}

}  // namespace
}  // namespace connpool::redis
