// A role=replica Sentinel client against the same 1 master + 2 replicas + 3 Sentinels: it
// spreads its connections over both replicas (never the master), gets READONLY for writes,
// fails clearly when no replica is healthy, and after SENTINEL FAILOVER under read load has
// its connections only on replicas (the old master among them), never on the new master, with
// errors only for reads in flight on the connections the failover cut.
#include "connpool/redis/client.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include "sentinel_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis {
namespace {

using namespace sentinel_test;  // the Sentinel fixture, kQuery, asio, chrono names

// ---- URL ----------------------------------------------------------------------------------

TEST(SentinelUrlTest, RoleOption) {
  auto plain = SentinelUrl::parse("redis-sentinel://h1/m");
  ASSERT_TRUE(plain) << plain.error().to_string();
  EXPECT_EQ(plain->role, SentinelUrl::Role::master);
  EXPECT_EQ(plain->redacted().find("role="), std::string::npos) << plain->redacted();

  auto master = SentinelUrl::parse("redis-sentinel://h1/m?role=master");
  ASSERT_TRUE(master) << master.error().to_string();
  EXPECT_EQ(master->role, SentinelUrl::Role::master);

  auto replica =
      SentinelUrl::parse("redis-sentinel://:pw-secret@h1,h2/m/2?role=replica&max_size=3");
  ASSERT_TRUE(replica) << replica.error().to_string();
  EXPECT_EQ(replica->role, SentinelUrl::Role::replica);
  EXPECT_EQ(replica->master.pool.max_size, 3u);  // the other options still reach the pool
  EXPECT_EQ(replica->master.db, 2);
  // The pool's target (stats, admin API) tells a replica client from a master client.
  EXPECT_NE(replica->redacted().find("role=replica"), std::string::npos) << replica->redacted();
  EXPECT_EQ(replica->redacted().find("pw-secret"), std::string::npos) << replica->redacted();

  for (const std::string bad : {"role=bogus", "role=", "role=Replica", "role=slave"}) {
    const std::string url = "redis-sentinel://:pw-secret@h1/m?" + bad;
    auto u = SentinelUrl::parse(url);
    ASSERT_FALSE(u) << url;
    const std::string msg = u.error().to_string();
    EXPECT_TRUE(u.error().is(errc::invalid_config)) << msg;
    EXPECT_NE(msg.find("option 'role'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'" + bad.substr(5) + "'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("pw-secret"), std::string::npos) << msg;
  }
  auto client = Client::create(asio::system_executor(), "redis-sentinel://h1/m?role=bogus");
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().to_string().find("'bogus'"), std::string::npos)
      << client.error().to_string();
}

// ---- against real Sentinels (fixture: sentinel_fixture.hpp) ------------------------------

constexpr const char* kReplicaQuery =
    "role=replica&min_size=4&max_size=8&acquire_timeout=15s&connect_timeout=500ms&"
    "command_timeout=2s&sentinel_refresh=500ms";

struct Nodes {
  std::uint16_t master = 0;
  std::vector<std::uint16_t> replicas;
};

// The master and its replicas, once every Sentinel reports each replica healthy (an earlier
// test may have failed over or restarted a node).
Nodes settled(RedisSentinelCluster& cluster) {
  Nodes n;
  n.master = cluster.master_port();
  EXPECT_NE(n.master, 0);
  for (auto p : cluster.data_ports()) {
    if (p == n.master) continue;
    n.replicas.push_back(p);
    EXPECT_TRUE(cluster.wait_replica_synced(p, 30s)) << "replica " << p;
    EXPECT_TRUE(cluster.wait_replica_healthy(p, 30s)) << "replica " << p;
  }
  return n;
}

std::string role_of(Client& c) {
  const std::vector<std::string> args{"ROLE"};
  auto r = c.wait(c.command(args));
  if (!r || !r->is_array() || r->elements().empty()) return "?";
  return r->elements()[0].str();
}

// How many connections named `name` the node on `port` has (CLIENT LIST).
int connections_named(RedisSentinelCluster& cluster, std::uint16_t port, const std::string& name) {
  const std::string list = cluster.cli(port, "CLIENT LIST TYPE normal");
  const std::string needle = " name=" + name + " ";
  int n = 0;
  for (auto at = list.find(needle); at != std::string::npos; at = list.find(needle, at + 1)) ++n;
  return n;
}

// Per data node, the connections named `name`, once they add up to `total` (or after 10 s).
std::map<std::uint16_t, int> spread(RedisSentinelCluster& cluster, const std::string& name,
                                    int total) {
  std::map<std::uint16_t, int> out;
  const auto deadline = steady_clock::now() + 10s;
  while (true) {
    out.clear();
    int sum = 0;
    for (auto p : cluster.data_ports()) sum += out[p] = connections_named(cluster, p, name);
    if (sum == total || steady_clock::now() >= deadline) return out;
    std::this_thread::sleep_for(50ms);
  }
}

std::string show(const std::map<std::uint16_t, int>& by_node) {
  std::string out;
  for (const auto& [port, n] : by_node) out += " " + std::to_string(port) + ":" + std::to_string(n);
  return out;
}

TEST_F(Sentinel, ReplicaClientSpreadsOverReplicasAndWritesGetReadonly) {
  const Nodes nodes = settled(*cluster_);
  ASSERT_EQ(nodes.replicas.size(), 2u);
  Client writer = make_client(kQuery);
  // max_size = min_size = 4: exactly the 4 connections opened at start, 2 per replica by the
  // round robin (the exclusive pool opens none until used).
  Client reader =
      make_client(std::string(kReplicaQuery) + "&max_size=4&client_name=connpool-rr-reader");
  EXPECT_NE(reader.pool().options().target.find("role=replica"), std::string::npos)
      << reader.pool().options().target;

  auto s = writer.wait(writer.set("replica:greeting", "hello from the master"));
  ASSERT_TRUE(s) << s.error().to_string();
  // Until the replicas have it, a read there could miss it (replication is asynchronous).
  const std::vector<std::string> wait_args{"WAIT", "2", "0"};
  auto acked = writer.wait(writer.command(wait_args));
  ASSERT_TRUE(acked && acked->is_integer()) << (acked ? acked->to_display() : "error");
  ASSERT_GE(acked->as_integer(), 2);

  for (int i = 0; i < 8; ++i) {
    auto g = reader.wait(reader.get("replica:greeting"));
    ASSERT_TRUE(g) << g.error().to_string();
    ASSERT_TRUE(*g);
    EXPECT_EQ(**g, "hello from the master");
    EXPECT_EQ(role_of(reader), "slave");
  }
  EXPECT_EQ(served_port(writer), nodes.master);
  const auto by_node = spread(*cluster_, "connpool-rr-reader", 4);
  std::printf("  replica client connections by node (master %u):%s\n",
              static_cast<unsigned>(nodes.master), show(by_node).c_str());
  EXPECT_EQ(by_node.at(nodes.master), 0) << "a replica client connected to the master";
  for (auto r : nodes.replicas) EXPECT_GE(by_node.at(r), 1) << "replica " << r << " unused";

  // A write on a replica is the caller's mistake: the READONLY reply comes back as is, not
  // retried as a master client would (that retry waits up to acquire_timeout, 15 s here).
  const auto t0 = steady_clock::now();
  auto w = reader.wait(reader.set("replica:greeting", "overwritten"));
  const auto took = steady_clock::now() - t0;
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().is(errc::server_error)) << w.error().to_string();
  EXPECT_NE(w.error().to_string().find("READONLY"), std::string::npos) << w.error().to_string();
  EXPECT_LT(took, 10s) << "the write waited for a switch";
  auto still = writer.wait(writer.get("replica:greeting"));
  ASSERT_TRUE(still && *still);
  EXPECT_EQ(**still, "hello from the master");
}

TEST_F(Sentinel, NoHealthyReplicaIsAClearErrorNotTheMaster) {
  const Nodes nodes = settled(*cluster_);
  for (auto r : nodes.replicas) cluster_->kill_node(r);
  // Every Sentinel must have noticed (down-after-milliseconds 1000), or one could still list
  // a dead replica as healthy and the error would be a connect error instead.
  const bool noticed = [&] {
    const auto deadline = steady_clock::now() + 20s;
    while (steady_clock::now() < deadline) {
      bool all = true;
      for (auto s : cluster_->sentinel_ports()) {
        for (auto r : nodes.replicas) {
          all = all && cluster_->replica_info(s, r)["flags"].find("s_down") != std::string::npos;
        }
      }
      if (all) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }();
  EXPECT_TRUE(noticed) << "Sentinels did not mark the killed replicas s_down";

  Client reader = make_client("role=replica&min_size=0&acquire_timeout=1500ms");
  auto g = reader.wait(reader.get("replica:greeting"));
  ASSERT_FALSE(g) << "a role=replica client read from somewhere with no replica up";
  const std::string msg = g.error().to_string();
  std::printf("  no healthy replica: %s\n", msg.c_str());
  EXPECT_TRUE(g.error().is(errc::acquire_timeout)) << msg;
  EXPECT_NE(msg.find("no healthy replica of 'mymaster'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("s_down"), std::string::npos) << msg;
  EXPECT_EQ(cluster_->master_port(), nodes.master) << "the Sentinels failed over unexpectedly";

  for (auto r : nodes.replicas) {
    std::string err;
    ASSERT_TRUE(cluster_->restart_node(r, &err)) << err;
  }
  for (auto r : nodes.replicas) EXPECT_TRUE(cluster_->wait_replica_healthy(r, 30s));
}

TEST_F(Sentinel, ReplicaClientFailoverEndsOnReplicasOnly) {
  const Nodes nodes = settled(*cluster_);
  const std::uint16_t old_master = nodes.master;
  const std::uint16_t promoted_one = other_node(old_master);
  Client writer = make_client(kQuery);
  constexpr int kKeys = 16;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "replica:key:" + std::to_string(k);
    const std::string value = "value-" + std::to_string(k);
    auto s = writer.wait(writer.set(key, value));
    ASSERT_TRUE(s) << s.error().to_string();
  }
  const std::vector<std::string> wait_args{"WAIT", "2", "0"};
  auto acked = writer.wait(writer.command(wait_args));
  ASSERT_TRUE(acked && acked->is_integer() && acked->as_integer() >= 2);

  // A generous acquire_timeout: reads wait for a usable replica while Sentinel reconfigures
  // them (docs/redis-sentinel.md: with a single replica that takes about 11 s here).
  const std::string name = "connpool-failover-reader";
  Client reader =
      make_client(std::string(kReplicaQuery) + "&acquire_timeout=30s&client_name=" + name);
  const auto before = spread(*cluster_, name, 4);
  EXPECT_EQ(before.at(old_master), 0);

  // GET load: 8 workers over the 16 keys, checking every value; the longest stretch without
  // any successful read is recorded (shown, not asserted).
  std::atomic<bool> stop{false};
  std::atomic<long long> ok{0}, wrong{0}, errors{0};
  std::atomic<long long> last_ok_ns{steady_clock::now().time_since_epoch().count()};
  std::atomic<long long> longest_gap_ns{0};
  std::mutex mu;
  std::map<std::string, int> kinds;           // guarded by mu
  std::map<std::string, std::string> sample;  // guarded by mu
  std::function<asio::awaitable<void>(int)> reader_load = [&](int w) -> asio::awaitable<void> {
    for (int i = w; !stop.load(); ++i) {
      const std::string key = "replica:key:" + std::to_string(i % kKeys);
      const std::string expected = "value-" + std::to_string(i % kKeys);
      auto v = co_await reader.get(key);
      if (v && *v && **v == expected) {
        ok.fetch_add(1);
        const long long now = steady_clock::now().time_since_epoch().count();
        const long long gap = now - last_ok_ns.exchange(now);
        long long seen = longest_gap_ns.load();
        while (gap > seen && !longest_gap_ns.compare_exchange_weak(seen, gap)) {
        }
      } else if (v) {
        wrong.fetch_add(1);
      } else {
        errors.fetch_add(1);
        std::lock_guard lock(mu);
        const std::string kind(to_string(v.error().code()));
        ++kinds[kind];
        sample.emplace(kind, v.error().message());
      }
    }
  };
  std::vector<std::future<void>> done;
  for (int w = 0; w < 8; ++w) {
    done.push_back(asio::co_spawn(io_.executor(), reader_load(w), asio::use_future));
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(ok.load(), 0);
  longest_gap_ns = 0;  // count from the failover on

  const auto t0 = steady_clock::now();
  const std::string answer =
      cluster_->cli(cluster_->sentinel_ports()[0], "SENTINEL FAILOVER " + cluster_->master_name());
  ASSERT_NE(answer.find("OK"), std::string::npos) << answer;
  // When the old master itself reports a synced link to the new one (redis-cli polling).
  auto rejoined = std::async(std::launch::async, [&]() -> std::optional<milliseconds> {
    if (!cluster_->wait_replica_synced(old_master, 40s)) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0);
  });
  const std::uint16_t new_master = cluster_->wait_for_new_master(old_master, 30s, false);
  ASSERT_EQ(new_master, promoted_one) << "Sentinels did not promote the expected replica";
  const auto promoted = std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0);
  const auto synced = rejoined.get();
  ASSERT_TRUE(synced) << "the old master did not rejoin as a synced replica";
  EXPECT_TRUE(cluster_->wait_replica_healthy(old_master, 30s));
  const long long ok_after_rejoin = ok.load();
  std::this_thread::sleep_for(1s);  // keep reading
  stop = true;
  for (auto& f : done) f.get();

  // Where the reader's connections are now: on replicas only, the old master being one.
  const auto after = spread(*cluster_, name, 4);
  std::printf(
      "  SENTINEL FAILOVER under 8 replica readers: all Sentinels name the new master after "
      "%lld ms, the old master reports itself a synced replica after %lld ms; longest stretch "
      "without a successful read: %lld ms; %lld GETs ok, %lld wrong, %lld errors; reader "
      "connections by node before%s, after%s (new master %u)\n",
      static_cast<long long>(promoted.count()), static_cast<long long>(synced->count()),
      longest_gap_ns.load() / 1000000, ok.load(), wrong.load(), errors.load(), show(before).c_str(),
      show(after).c_str(), static_cast<unsigned>(new_master));
  {
    std::lock_guard lock(mu);
    for (const auto& [kind, n] : kinds) {
      std::printf("    %s: %d (e.g. %s)\n", kind.c_str(), n, sample[kind].c_str());
      // Only reads in flight on connections the failover cut (Sentinel kills the clients of
      // every node it reconfigures); queued reads wait for a replica instead of failing.
      EXPECT_TRUE(kind == "io_error" || kind == "timeout" || kind == "connect_failed" ||
                  kind == "connect_timeout")
          << kind << ": " << sample[kind];
    }
  }
  EXPECT_EQ(wrong.load(), 0) << "a read returned a wrong or missing value";
  EXPECT_GT(ok.load(), ok_after_rejoin) << "no read succeeded after the failover";
  // A handful: at most about one in-flight read per worker per cut connection.
  EXPECT_LE(errors.load(), 4 * 8);
  EXPECT_EQ(after.at(new_master), 0) << "a replica client connection is on the new master";
  int on_replicas = 0;
  for (const auto& [port, n] : after) {
    if (port != new_master) on_replicas += n;
  }
  EXPECT_GE(on_replicas, 1);
  EXPECT_EQ(role_of(reader), "slave");
  EXPECT_NE(served_port(reader), new_master);
  // The old master is usable as a replica: a fresh replica client reaches it too.
  Client fresh = make_client(std::string(kReplicaQuery) + "&client_name=connpool-fresh-reader");
  const auto fresh_spread = spread(*cluster_, "connpool-fresh-reader", 4);
  std::printf("  fresh replica client after the failover:%s\n", show(fresh_spread).c_str());
  EXPECT_EQ(fresh_spread.at(new_master), 0);
  EXPECT_GE(fresh_spread.at(old_master), 1) << "the old master is not used as a replica";
  for (auto p : cluster_->data_ports()) {
    if (p != new_master) {
      EXPECT_TRUE(cluster_->wait_replica_healthy(p, 30s)) << p;
    }
  }
}

}  // namespace
}  // namespace connpool::redis
