// redis::Client against a real redis-server: every typed command, binary safety, pipelines,
// transactions (incl. a WATCH conflict), scan, scripting, blocking pops and the blocking
// wait() form, with auto-pipelining on and off.
#include "connpool/redis/client.hpp"

#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"
#include "support/sanitizer_factor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis {
namespace {

namespace asio = boost::asio;
using connpool::test::IoThreads;
using connpool::test::RedisServer;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SV = std::string_view;

RedisServer* g_server = nullptr;

class ClientEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string err;
    g_server = RedisServer::start({}, &err).release();
    ASSERT_NE(g_server, nullptr) << err;
  }
  void TearDown() override {
    delete g_server;
    g_server = nullptr;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ClientEnv);

// Runs every test twice: auto-pipelining on (shared leases) and off (exclusive leases).
class ClientTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_NE(g_server, nullptr);
    // The default 5 s command deadline, stretched under sanitizers: a 16 MiB GET took longer
    // than 5 s under TSan on a loaded machine (SixteenMebibyteValue).
    const auto command_timeout = connpool::test::scaled(milliseconds(5000));
    auto c = Client::create(
        io_.executor(), g_server->url(std::string("pipeline_auto=") + (GetParam() ? "on" : "off") +
                                      "&max_size=4&command_timeout=" +
                                      std::to_string(command_timeout.count()) + "ms"));
    ASSERT_TRUE(c) << c.error().to_string();
    client_.emplace(std::move(*c));
    prefix_ = std::string(GetParam() ? "on:" : "off:") +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ":";
    // Fresh keys per test and mode.
    auto flushed = client_->wait(client_->command(std::vector<std::string>{"FLUSHDB"}));
    ASSERT_TRUE(flushed);
  }
  std::string k(const std::string& name) const { return prefix_ + name; }
  template <class T>
  T must(Result<T> r) {
    EXPECT_TRUE(r) << r.error().to_string();
    if (!r) throw std::runtime_error(r.error().to_string());
    return std::move(*r);
  }

  IoThreads io_{2};
  std::optional<Client> client_;
  std::string prefix_;
};

TEST_P(ClientTest, StringsAndKeys) {
  Client& c = *client_;
  EXPECT_TRUE(c.wait(c.ping()));
  EXPECT_EQ(must(c.wait(c.get(k("none")))), std::nullopt);
  EXPECT_TRUE(must(c.wait(c.set(k("a"), "1"))));
  EXPECT_EQ(must(c.wait(c.get(k("a")))), "1");
  SetOptions nx;
  nx.condition = SetOptions::Condition::if_not_exists;
  EXPECT_FALSE(must(c.wait(c.set(k("a"), "2", nx))));
  SetOptions xx;
  xx.condition = SetOptions::Condition::if_exists;
  EXPECT_FALSE(must(c.wait(c.set(k("b"), "2", xx))));
  EXPECT_TRUE(must(c.wait(c.set(k("a"), "3", xx))));
  EXPECT_EQ(must(c.wait(c.set_get(k("a"), "4"))), "3");
  EXPECT_EQ(must(c.wait(c.set_get(k("fresh"), "x"))), std::nullopt);

  SetOptions ex;
  ex.ex = seconds(100);
  EXPECT_TRUE(must(c.wait(c.set(k("ttl"), "v", ex))));
  const auto t = must(c.wait(c.ttl(k("ttl"))));
  EXPECT_GT(t, 90);
  EXPECT_LE(t, 100);
  SetOptions keep;
  keep.keep_ttl = true;
  EXPECT_TRUE(must(c.wait(c.set(k("ttl"), "w", keep))));
  EXPECT_GT(must(c.wait(c.ttl(k("ttl")))), 90);
  SetOptions px;
  px.px = milliseconds(50000);
  EXPECT_TRUE(must(c.wait(c.set(k("px"), "v", px))));
  EXPECT_GT(must(c.wait(c.ttl(k("px")))), 40);
  EXPECT_EQ(must(c.wait(c.ttl(k("a")))), -1);
  EXPECT_EQ(must(c.wait(c.ttl(k("none")))), -2);
  EXPECT_TRUE(must(c.wait(c.expire(k("a"), seconds(500)))));
  EXPECT_GT(must(c.wait(c.ttl(k("a")))), 400);
  EXPECT_TRUE(must(c.wait(c.pexpire(k("a"), milliseconds(200000)))));
  EXPECT_LE(must(c.wait(c.ttl(k("a")))), 200);
  EXPECT_FALSE(must(c.wait(c.expire(k("none"), seconds(5)))));

  EXPECT_EQ(must(c.wait(c.exists(k("a")))), 1);
  const std::string ka = k("a"), kb = k("b"), kn = k("none");
  const std::array<SV, 3> three{ka, kn, ka};
  EXPECT_EQ(must(c.wait(c.exists(three))), 2);
  EXPECT_EQ(must(c.wait(c.del(k("a")))), 1);
  EXPECT_EQ(must(c.wait(c.del(three))), 0);

  EXPECT_EQ(must(c.wait(c.incr(k("n")))), 1);
  EXPECT_EQ(must(c.wait(c.incrby(k("n"), 41))), 42);
  EXPECT_EQ(must(c.wait(c.decr(k("n")))), 41);

  const std::string m1 = k("m1"), m2 = k("m2");
  const std::array<Client::Field, 2> pairs{Client::Field{m1, "x"}, Client::Field{m2, "y"}};
  EXPECT_TRUE(c.wait(c.mset(pairs)));
  const std::array<SV, 3> mkeys{m1, kn, m2};
  const auto values = must(c.wait(c.mget(mkeys)));
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], "x");
  EXPECT_EQ(values[1], std::nullopt);
  EXPECT_EQ(values[2], "y");
}

TEST_P(ClientTest, WrongTypeIsServerErrorNotBroken) {
  Client& c = *client_;
  const std::string key = k("list");
  const std::array<SV, 1> one{"v"};
  EXPECT_EQ(must(c.wait(c.lpush(key, one))), 1);
  auto r = c.wait(c.get(key));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::server_error);
  EXPECT_NE(r.error().message().find("WRONGTYPE"), std::string::npos);
  EXPECT_NE(r.error().message().find("GET"), std::string::npos);
  EXPECT_TRUE(c.wait(c.ping()));
  EXPECT_EQ(c.pool().stats().closed_total(), 0u);
}

TEST_P(ClientTest, HashesListsSetsSortedSets) {
  Client& c = *client_;
  const std::string h = k("h");
  EXPECT_EQ(must(c.wait(c.hset(h, "f1", "v1"))), 1);
  const std::array<Client::Field, 2> fields{Client::Field{"f2", "v2"}, Client::Field{"f1", "v1b"}};
  EXPECT_EQ(must(c.wait(c.hset(h, fields))), 1);
  EXPECT_EQ(must(c.wait(c.hget(h, "f1"))), "v1b");
  EXPECT_EQ(must(c.wait(c.hget(h, "nope"))), std::nullopt);
  auto all = must(c.wait(c.hgetall(h)));
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (std::pair<std::string, std::string>{"f1", "v1b"}));
  EXPECT_EQ(all[1], (std::pair<std::string, std::string>{"f2", "v2"}));
  const std::array<SV, 2> del_fields{"f1", "zz"};
  EXPECT_EQ(must(c.wait(c.hdel(h, del_fields))), 1);

  const std::string l = k("l");
  const std::array<SV, 2> ab{"a", "b"};
  const std::array<SV, 2> cd{"c", "d"};
  EXPECT_EQ(must(c.wait(c.lpush(l, ab))), 2);  // b a
  EXPECT_EQ(must(c.wait(c.rpush(l, cd))), 4);  // b a c d
  EXPECT_EQ(must(c.wait(c.lrange(l, 0, -1))), (std::vector<std::string>{"b", "a", "c", "d"}));
  EXPECT_EQ(must(c.wait(c.lpop(l))), "b");
  EXPECT_EQ(must(c.wait(c.lpop(k("empty")))), std::nullopt);

  const std::string s = k("s");
  const std::array<SV, 3> members{"x", "y", "x"};
  EXPECT_EQ(must(c.wait(c.sadd(s, members))), 2);
  auto sm = must(c.wait(c.smembers(s)));
  std::sort(sm.begin(), sm.end());
  EXPECT_EQ(sm, (std::vector<std::string>{"x", "y"}));

  const std::string z = k("z");
  const std::array<ScoredMember, 3> scored{ScoredMember{2.5, "b"}, ScoredMember{-1, "a"},
                                           ScoredMember{10, "c"}};
  EXPECT_EQ(must(c.wait(c.zadd(z, scored))), 3);
  EXPECT_EQ(must(c.wait(c.zrange(z, 0, -1))), (std::vector<std::string>{"a", "b", "c"}));
  const auto ws = must(c.wait(c.zrange_with_scores(z, 0, 1)));
  ASSERT_EQ(ws.size(), 2u);
  EXPECT_EQ(ws[0].first, "a");
  EXPECT_DOUBLE_EQ(ws[0].second, -1.0);
  EXPECT_DOUBLE_EQ(ws[1].second, 2.5);
}

TEST_P(ClientTest, BinaryKeysAndValues) {
  Client& c = *client_;
  const std::string key = k(std::string("bin\0\r\n", 6));
  std::string value;
  for (int i = 0; i < 512; ++i) value.push_back(static_cast<char>(i * 7));
  EXPECT_TRUE(must(c.wait(c.set(key, value))));
  EXPECT_EQ(must(c.wait(c.get(key))), value);
  const std::string h = k("binhash");
  EXPECT_EQ(must(c.wait(c.hset(h, std::string("f\0", 2), value))), 1);
  EXPECT_EQ(must(c.wait(c.hget(h, std::string("f\0", 2)))), value);
}

TEST_P(ClientTest, SixteenMebibyteValue) {
  Client& c = *client_;
  std::string big(16u << 20, 'x');
  big[12345] = '\0';
  EXPECT_TRUE(must(c.wait(c.set(k("big"), big))));
  const auto got = must(c.wait(c.get(k("big"))));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), big.size());
  EXPECT_TRUE(*got == big);
}

TEST_P(ClientTest, GenericCommandReturnsErrorReplies) {
  Client& c = *client_;
  auto r = c.wait(c.command(std::vector<std::string>{"NOSUCH"}));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error());
  auto echo = c.wait(c.command(std::vector<std::string>{"ECHO", std::string("a\0b", 3)}));
  ASSERT_TRUE(echo);
  EXPECT_EQ(*echo, Reply::string(std::string("a\0b", 3)));
}

TEST_P(ClientTest, PublishScriptsAndScan) {
  Client& c = *client_;
  EXPECT_EQ(must(c.wait(c.publish(k("chan"), "hello"))), 0);

  const std::string key = k("ev");
  const std::array<SV, 1> keys{key};
  const std::array<SV, 1> args{"7"};
  auto ev =
      must(c.wait(c.eval("redis.call('SET', KEYS[1], ARGV[1]); return {1, 'two', "
                         "redis.call('GET', KEYS[1])}",
                         keys, args)));
  std::vector<Reply> expected{Reply::integer(1), Reply::string("two"), Reply::string("7")};
  EXPECT_EQ(ev, Reply::array(expected));
  const std::string sha = must(c.wait(c.script_load("return ARGV[1] .. KEYS[1]")));
  EXPECT_EQ(sha.size(), 40u);
  EXPECT_EQ(must(c.wait(c.evalsha(sha, keys, args))), Reply::string("7" + key));
  auto bad = c.wait(c.evalsha(std::string(40, '0'), keys, args));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::server_error);
  EXPECT_NE(bad.error().message().find("NOSCRIPT"), std::string::npos);

  std::set<std::string> want;
  for (int i = 0; i < 250; ++i) {
    want.insert(k("scan:" + std::to_string(i)));
    ASSERT_TRUE(must(c.wait(c.set(k("scan:" + std::to_string(i)), "v"))));
  }
  ASSERT_TRUE(must(c.wait(c.set(k("other"), "v"))));
  auto it = c.scan(k("scan:*"), 50);
  std::set<std::string> seen;
  for (int page = 0; page < 10000 && !it.done(); ++page) {
    auto batch = must(c.wait(it.next()));
    if (!batch) break;
    seen.insert(batch->begin(), batch->end());
  }
  EXPECT_TRUE(it.done());
  EXPECT_EQ(seen, want);
}

TEST_P(ClientTest, PipelineRepliesInOrder) {
  Client& c = *client_;
  auto p = must(c.wait(c.pipeline()));
  const std::string key = k("p");
  p.add({"SET", key, "1"}).add({"INCR", key}).add({"GET", key}).add({"NOSUCH"});
  EXPECT_EQ(p.size(), 4u);
  auto replies = must(c.wait(p.exec()));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0], Reply::status("OK"));
  EXPECT_EQ(replies[1], Reply::integer(2));
  EXPECT_EQ(replies[2], Reply::string("2"));
  EXPECT_TRUE(replies[3].is_error());
  p.add({"INCR", key});
  auto again = must(c.wait(p.exec()));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], Reply::integer(3));
}

TEST_P(ClientTest, TransactionCommitsAtomically) {
  Client& c = *client_;
  const std::string key = k("tx");
  const std::array<SV, 1> watch{key};
  auto tx = must(c.wait(c.transaction(watch)));
  const std::array<SV, 2> get{"GET", key};
  auto cur = must(c.wait(tx.command(get)));
  EXPECT_TRUE(cur.is_nil());
  tx.queue({"SET", key, "10"}).queue({"INCRBY", key, "5"});
  auto results = must(c.wait(tx.exec()));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], Reply::status("OK"));
  EXPECT_EQ(results[1], Reply::integer(15));
  EXPECT_EQ(must(c.wait(c.get(key))), "15");
}

TEST_P(ClientTest, TransactionWatchConflict) {
  Client& c = *client_;
  const std::string key = k("balance");
  ASSERT_TRUE(must(c.wait(c.set(key, "100"))));
  const std::array<SV, 1> watch{key};
  auto tx = must(c.wait(c.transaction(watch)));
  // Someone else changes the watched key between WATCH and EXEC.
  ASSERT_TRUE(must(c.wait(c.set(key, "50"))));
  tx.queue({"SET", key, "90"});
  auto r = c.wait(tx.exec());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::watch_conflict) << r.error().to_string();
  EXPECT_EQ(must(c.wait(c.get(key))), "50");
}

TEST_P(ClientTest, TransactionExecAbortIsServerError) {
  Client& c = *client_;
  auto tx = must(c.wait(c.transaction()));
  tx.queue({"SET", k("x")});  // wrong arity: queued with an error, EXEC aborts
  auto r = c.wait(tx.exec());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::server_error);
  EXPECT_NE(r.error().message().find("EXECABORT"), std::string::npos);
}

TEST_P(ClientTest, DroppedWatchingTransactionDoesNotLeakWatch) {
  Client& c = *client_;
  const std::string key = k("w");
  {
    const std::array<SV, 1> watch{key};
    auto tx = must(c.wait(c.transaction(watch)));
  }  // dropped while watching: its connection is discarded, not pooled with a WATCH
  auto tx = must(c.wait(c.transaction()));
  ASSERT_TRUE(must(c.wait(c.set(key, "changed"))));
  tx.queue({"SET", key, "mine"});
  EXPECT_TRUE(c.wait(tx.exec()));
  EXPECT_EQ(must(c.wait(c.get(key))), "mine");
  auto d = must(c.wait(c.transaction()));
  EXPECT_TRUE(c.wait(d.discard()));
}

// The server's count of clients blocked in BLPOP and friends (INFO clients).
long long blocked_clients(Client& c) {
  const std::array<SV, 2> info{"INFO", "clients"};
  auto r = c.wait(c.command(std::span<const SV>(info)));
  if (!r || !r->is_string()) return -1;
  const std::string& text = r->str();
  const auto at = text.find("blocked_clients:");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + 16));
}

TEST_P(ClientTest, BlockingPopTakesExclusiveLease) {
  Client& c = *client_;
  const std::string key = k("queue");
  const std::array<SV, 1> keys{key};
  const long long blocked_before = blocked_clients(c);
  auto waiting = asio::co_spawn(io_.context(), c.blpop(keys, seconds(30)), asio::use_future);
  // The pop blocks on its own connection: the server says so (INFO clients, blocked_clients),
  // while the pool keeps serving other commands. Then a push through the normal path wakes it.
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (blocked_clients(c) <= blocked_before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_GT(blocked_clients(c), blocked_before) << "BLPOP never blocked on the server";
  const std::array<SV, 1> item{"job1"};
  EXPECT_EQ(must(c.wait(c.rpush(key, item))), 1);
  auto popped = must(waiting.get());
  ASSERT_TRUE(popped.has_value());
  EXPECT_EQ(popped->first, key);
  EXPECT_EQ(popped->second, "job1");
  EXPECT_EQ(must(c.wait(c.blpop(keys, seconds(1)))), std::nullopt);
}

TEST_P(ClientTest, ManyConcurrentCallers) {
  Client& c = *client_;
  constexpr int kCallers = 64;
  constexpr int kOps = 50;
  std::vector<std::future<int>> done;
  for (int i = 0; i < kCallers; ++i) {
    done.push_back(asio::co_spawn(
        io_.context(),
        [](Client c, std::string key) -> asio::awaitable<int> {
          int errors = 0;
          for (int j = 0; j < kOps; ++j) {
            const std::string value = std::to_string(j);
            auto s = co_await c.set(key, value);
            auto g = co_await c.get(key);
            if (!s || !g || *g != value) ++errors;
          }
          co_return errors;
        }(c, k("cc:" + std::to_string(i))),
        asio::use_future));
  }
  int errors = 0;
  for (auto& f : done) errors += f.get();
  EXPECT_EQ(errors, 0);
  const auto stats = c.pool().stats();
  EXPECT_EQ(stats.leases, 0u);
  EXPECT_LE(stats.total, 4u);
  if (GetParam()) {
    // Auto-pipelining: 64 callers fit on one shared connection (128 in flight allowed).
    EXPECT_GE(stats.max_leases_per_connection, 2u);
  } else {
    EXPECT_EQ(stats.max_leases_per_connection, 1u);
  }
}

TEST_P(ClientTest, DirectLease) {
  Client& c = *client_;
  auto lease = must(c.wait(c.lease()));
  const std::array<SV, 2> select{"SELECT", "1"};
  // Stateful use of the raw connection; discard it afterwards rather than pool a changed db.
  auto r = c.wait(lease->execute(select));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, Reply::status("OK"));
  lease.discard();
  EXPECT_EQ(c.exclusive_pool().stats().leases, 0u);
}

INSTANTIATE_TEST_SUITE_P(AutoPipelining, ClientTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "on" : "off"; });

// With auto-pipelining the client opens a second pool for stateful work; its events must reach
// an observer of its own (from observer_factory), never the main pool's.
struct AcquireCounter : core::PoolObserver {
  std::atomic<int> acquired{0};
  void on_acquired(std::chrono::nanoseconds) override { ++acquired; }
};

TEST(ClientObservers, TheExclusivePoolGetsItsOwnObserver) {
  ASSERT_NE(g_server, nullptr);
  IoThreads io;
  auto main_observer = std::make_shared<AcquireCounter>();
  auto exclusive_observer = std::make_shared<AcquireCounter>();
  std::vector<std::string> asked_for;
  core::PoolOptions options;
  options.name = "cache";
  options.observer = main_observer;
  options.observer_factory =
      [&](const core::PoolOptions& pool) -> std::shared_ptr<core::PoolObserver> {
    asked_for.push_back(pool.name);
    return exclusive_observer;
  };
  auto c = Client::create(io.executor(), g_server->url("pipeline_auto=on"), options);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(asked_for, std::vector<std::string>{"cache-exclusive"});
  const std::string key = "observers:k";
  ASSERT_TRUE(c->wait(c->set(key, "v")));
  const int main_before = main_observer->acquired.load();
  EXPECT_GE(main_before, 1);
  EXPECT_EQ(exclusive_observer->acquired.load(), 0);
  {
    auto lease = c->wait(c->lease());  // stateful work: the exclusive pool
    ASSERT_TRUE(lease) << lease.error().to_string();
  }
  EXPECT_EQ(exclusive_observer->acquired.load(), 1);
  EXPECT_EQ(main_observer->acquired.load(), main_before);
  c->close_now();
}

}  // namespace
}  // namespace connpool::redis
