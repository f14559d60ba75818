// Routing on a stable cluster: every command family reaches the key's owner (checked on that
// node directly), hash tags, transactions and WATCH, cross-slot errors, multi-key splitting,
// pipelines across nodes, reads from replicas.
#include "cluster_fixture.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

using redis::Reply;
using redis::cluster::ClusterClient;
using redis::cluster::hash_slot;
using redis::cluster::NodeRole;

std::vector<std::string> spread_keys(const std::string& prefix, int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back(prefix + std::to_string(i));
  return keys;
}

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

// How many times `port` has run `command` (INFO commandstats): which node served what.
long long calls(std::uint16_t port, const std::string& command) {
  const std::string stats = cluster()->cli(port, "INFO commandstats");
  const std::string label = "cmdstat_" + command + ":calls=";
  const auto at = stats.find(label);
  if (at == std::string::npos) return 0;
  return std::stoll(stats.substr(at + label.size()));
}

std::map<std::uint16_t, long long> calls_per_node(const std::string& command) {
  std::map<std::uint16_t, long long> out;
  for (const auto port : cluster()->ports()) out[port] = calls(port, command);
  return out;
}

// The key's owner, asked directly (no cluster client involved).
std::uint16_t owner(const std::string& key) {
  auto port = cluster()->owner_of_slot(hash_slot(key));
  EXPECT_TRUE(port.has_value()) << key;
  return port.value_or(0);
}

TEST(ClusterRouting, HashSlotMatchesClusterKeyslot) {
  const auto port = cluster()->ports().front();
  for (const std::string key : {"foo", "bar", "123456789", "{user1000}.following", "foo{}{bar}",
                                "foo{{bar}}zap", "a:b:c", "k:17", "{}"}) {
    EXPECT_EQ(std::to_string(hash_slot(key)), cluster()->cli(port, "CLUSTER KEYSLOT '" + key + "'"))
        << key;
  }
}

TEST(ClusterRouting, EveryCommandFamilyReachesTheOwner) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  ASSERT_TRUE(client.wait(client.refresh()));
  ASSERT_EQ(client.nodes().size(), 6u);
  const auto keys = spread_keys("route:", 24);
  std::set<std::uint16_t> owners;
  for (const auto& base : keys) {
    const std::string s = base + ":str";
    const std::string h = base + ":hash";
    const std::string l = base + ":list";
    const std::string st = base + ":set";
    const std::string z = base + ":zset";
    const std::string n = base + ":num";
    ASSERT_TRUE(client.wait(client.set(s, "v-" + base)).value_or(false));
    EXPECT_EQ(client.wait(client.get(s)).value_or(std::nullopt), "v-" + base);
    EXPECT_EQ(client.wait(client.incr(n)).value_or(0), 1);
    EXPECT_EQ(client.wait(client.incrby(n, 41)).value_or(0), 42);
    EXPECT_TRUE(client.wait(client.expire(n, std::chrono::seconds(100))).value_or(false));
    const auto ttl = client.wait(client.ttl(n)).value_or(-5);
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 100);
    EXPECT_EQ(client.wait(client.hset(h, "f", "x")).value_or(-1), 1);
    EXPECT_EQ(client.wait(client.hget(h, "f")).value_or(std::nullopt), "x");
    auto all = client.wait(client.hgetall(h));
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].second, "x");
    const std::vector<std::string_view> items{"a", "b"};
    EXPECT_EQ(client.wait(client.rpush(l, items)).value_or(-1), 2);
    EXPECT_EQ(client.wait(client.lpush(l, items)).value_or(-1), 4);
    EXPECT_EQ(client.wait(client.lrange(l, 0, -1)).value_or(std::vector<std::string>{}),
              (std::vector<std::string>{"b", "a", "a", "b"}));
    EXPECT_EQ(client.wait(client.sadd(st, items)).value_or(-1), 2);
    EXPECT_EQ(client.wait(client.smembers(st)).value_or(std::vector<std::string>{}).size(), 2u);
    const std::vector<redis::ScoredMember> members{{2, "two"}, {1, "one"}};
    EXPECT_EQ(client.wait(client.zadd(z, members)).value_or(-1), 2);
    EXPECT_EQ(client.wait(client.zrange(z, 0, -1)).value_or(std::vector<std::string>{}),
              (std::vector<std::string>{"one", "two"}));
    const std::vector<std::string_view> script_keys{s};
    const std::vector<std::string_view> no_args;
    auto got = client.wait(client.eval("return redis.call('GET', KEYS[1])", script_keys, no_args));
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(got->str(), "v-" + base);
    const std::vector<std::string> raw{"STRLEN", s};
    auto strlen = client.wait(client.command(raw));
    ASSERT_TRUE(strlen);
    EXPECT_EQ(strlen->as_integer(), static_cast<long long>(base.size() + 2));

    // Where did the data land? Ask each key's owner directly, without redirects.
    for (const auto& [key, type] : std::map<std::string, std::string>{
             {s, "string"}, {h, "hash"}, {l, "list"}, {st, "set"}, {z, "zset"}, {n, "string"}}) {
      const auto port = owner(key);
      owners.insert(port);
      EXPECT_EQ(cluster()->cli(port, "TYPE '" + key + "'"), type) << key << " on " << port;
    }
    EXPECT_EQ(client.wait(client.del(s)).value_or(-1), 1);
    EXPECT_EQ(client.wait(client.exists(s)).value_or(-1), 0);
  }
  EXPECT_EQ(owners.size(), 3u) << "the keys should cover every primary";
  // The map was right from the start: no command needed a redirect.
  EXPECT_EQ(client.stats().moved, 0u);
  EXPECT_EQ(client.stats().ask, 0u);
  // And every node's own pool did the work (per-node stats come from the pool core).
  for (const auto& node : client.nodes()) {
    if (node.role != NodeRole::primary) continue;
    EXPECT_GT(node.client.pool().stats().acquires, 0u) << node.address.text();
    EXPECT_NE(node.client.pool().options().name.find("@127.0.0.1:"), std::string::npos);
  }
}

// Options and writes the family test above does not cover, each read back from the key's
// owner directly.
TEST(ClusterRouting, WritesWithOptionsLandOnTheOwner) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  std::set<std::uint16_t> owners;
  for (const auto& base : spread_keys("opts:", 12)) {
    const std::string s = base + ":str";
    const std::string h = base + ":hash";
    const std::string st = base + ":set";
    const std::string scripted = base + ":lua";
    const auto port = owner(s);
    owners.insert(port);
    redis::SetOptions ex;
    ex.ex = std::chrono::seconds(100);
    ASSERT_TRUE(client.wait(client.set(s, "first", ex)).value_or(false));
    const auto ttl = std::stoll(cluster()->cli(port, "TTL '" + s + "'"));
    EXPECT_GT(ttl, 0) << s;
    EXPECT_LE(ttl, 100) << s;
    redis::SetOptions nx;
    nx.condition = redis::SetOptions::Condition::if_not_exists;
    EXPECT_FALSE(client.wait(client.set(s, "second", nx)).value_or(true)) << s;
    EXPECT_EQ(cluster()->cli(port, "GET '" + s + "'"), "first");
    redis::SetOptions xx;
    xx.condition = redis::SetOptions::Condition::if_exists;
    EXPECT_FALSE(client.wait(client.set(base + ":absent", "x", xx)).value_or(true));
    EXPECT_EQ(client.wait(client.exists(base + ":absent")).value_or(-1), 0);
    const std::vector<std::string> append{"APPEND", s, "+"};
    auto appended = client.wait(client.command(append));
    ASSERT_TRUE(appended) << appended.error().to_string();
    EXPECT_EQ(appended->as_integer(), 6);
    EXPECT_EQ(cluster()->cli(port, "GET '" + s + "'"), "first+");

    const std::vector<ClusterClient::Field> fields{{"f1", "v1"}, {"f2", "v2"}, {"f3", "v3"}};
    EXPECT_EQ(client.wait(client.hset(h, fields)).value_or(-1), 3);
    auto all =
        client.wait(client.hgetall(h)).value_or(std::vector<std::pair<std::string, std::string>>{});
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, (std::vector<std::pair<std::string, std::string>>{
                       {"f1", "v1"}, {"f2", "v2"}, {"f3", "v3"}}));
    EXPECT_EQ(cluster()->cli(owner(h), "HGET '" + h + "' f2"), "v2");

    const std::vector<std::string_view> members{"x", "y", "z", "x"};
    EXPECT_EQ(client.wait(client.sadd(st, members)).value_or(-1), 3);
    auto got = client.wait(client.smembers(st)).value_or(std::vector<std::string>{});
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_EQ(cluster()->cli(owner(st), "SCARD '" + st + "'"), "3");

    // A script that writes: it runs on the owner of its key.
    const std::vector<std::string_view> script_keys{scripted};
    const std::vector<std::string_view> script_args{"from-lua"};
    auto wrote = client.wait(
        client.eval("return redis.call('SET', KEYS[1], ARGV[1])", script_keys, script_args));
    ASSERT_TRUE(wrote) << wrote.error().to_string();
    EXPECT_EQ(wrote->str(), "OK");
    EXPECT_EQ(cluster()->cli(owner(scripted), "GET '" + scripted + "'"), "from-lua");
  }
  EXPECT_EQ(owners.size(), 3u);
}

TEST(ClusterRouting, HashTagsKeepKeysOnOneNode) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  const std::vector<std::string> keys{"{user:7}:name", "{user:7}:mail", "{user:7}:visits"};
  EXPECT_EQ(hash_slot(keys[0]), hash_slot(keys[1]));
  EXPECT_EQ(hash_slot(keys[0]), hash_slot("user:7"));
  // One MSET, one MULTI/EXEC and one script across the tagged keys: all on the same node.
  const std::vector<ClusterClient::Field> pairs{{keys[0], "ann"}, {keys[1], "ann@x"}};
  ASSERT_TRUE(client.wait(client.mset(pairs)));
  const auto key_views = views(keys);
  auto tx = client.wait(client.transaction(key_views));
  ASSERT_TRUE(tx) << tx.error().to_string();
  tx->queue({"INCR", keys[2]});
  tx->queue({"GET", keys[0]});
  auto results = client.wait(tx->exec());
  ASSERT_TRUE(results) << results.error().to_string();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].as_integer(), 1);
  EXPECT_EQ((*results)[1].str(), "ann");
  const std::vector<std::string_view> two{keys[0], keys[1]};
  const std::vector<std::string_view> no_args;
  auto joined = client.wait(client.eval(
      "return redis.call('GET', KEYS[1]) .. ' ' .. redis.call('GET', KEYS[2])", two, no_args));
  ASSERT_TRUE(joined) << joined.error().to_string();
  EXPECT_EQ(joined->str(), "ann ann@x");
  const auto port = owner(keys[0]);
  EXPECT_EQ(cluster()->cli(port, "GET '" + keys[2] + "'"), "1");
}

TEST(ClusterRouting, TransactionsRunOnTheSlotOwnerAndHonourWatch) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  const std::string balance = "{acct:9}:balance";
  const std::string log = "{acct:9}:log";
  const auto port = owner(balance);
  ASSERT_TRUE(client.wait(client.set(balance, "100")).value_or(false));
  const std::vector<std::string_view> keys{balance, log};
  const std::vector<std::string_view> watch{balance};

  // WATCH, read, then MULTI/EXEC on the same connection of the owner.
  auto tx = client.wait(client.transaction(keys, watch));
  ASSERT_TRUE(tx) << tx.error().to_string();
  const std::array<std::string_view, 2> read{"GET", balance};
  auto current = client.wait(tx->command(read));
  ASSERT_TRUE(current) << current.error().to_string();
  EXPECT_EQ(current->str(), "100");
  tx->queue({"DECRBY", balance, "30"});
  tx->queue({"RPUSH", log, "-30"});
  auto done = client.wait(tx->exec());
  ASSERT_TRUE(done) << done.error().to_string();
  ASSERT_EQ(done->size(), 2u);
  EXPECT_EQ((*done)[0].as_integer(), 70);
  EXPECT_EQ((*done)[1].as_integer(), 1);
  EXPECT_EQ(cluster()->cli(port, "GET '" + balance + "'"), "70");
  EXPECT_EQ(cluster()->cli(port, "LRANGE '" + log + "' 0 -1"), "-30");

  // Someone else changes the WATCHed key before EXEC: nothing is applied.
  auto conflicted = client.wait(client.transaction(keys, watch));
  ASSERT_TRUE(conflicted) << conflicted.error().to_string();
  ASSERT_TRUE(client.wait(client.set(balance, "0")).value_or(false));
  conflicted->queue({"DECRBY", balance, "30"});
  conflicted->queue({"RPUSH", log, "-30"});
  auto refused = client.wait(conflicted->exec());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), errc::watch_conflict) << refused.error().to_string();
  EXPECT_EQ(cluster()->cli(port, "GET '" + balance + "'"), "0");
  EXPECT_EQ(cluster()->cli(port, "LLEN '" + log + "'"), "1");

  // A WATCHed key in another slot than the keys is refused before anything is sent.
  const std::vector<std::string_view> elsewhere{"{acct:10}:balance"};
  ASSERT_NE(hash_slot(elsewhere[0]), hash_slot(balance));
  auto split = client.wait(client.transaction(keys, elsewhere));
  ASSERT_FALSE(split);
  EXPECT_EQ(split.error().code(), errc::cross_slot) << split.error().to_string();
}

TEST(ClusterRouting, CrossSlotOperationsAreClearErrors) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  ASSERT_NE(hash_slot("alpha"), hash_slot("beta"));
  const std::vector<std::string_view> keys{"alpha", "beta"};
  auto tx = client.wait(client.transaction(keys));
  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code(), errc::cross_slot);
  const std::string msg = tx.error().message();
  EXPECT_NE(msg.find("'alpha' -> " + std::to_string(hash_slot("alpha"))), std::string::npos) << msg;
  EXPECT_NE(msg.find("'beta' -> " + std::to_string(hash_slot("beta"))), std::string::npos) << msg;
  const std::vector<std::string_view> no_args;
  auto script = client.wait(client.eval("return 1", keys, no_args));
  ASSERT_FALSE(script);
  EXPECT_EQ(script.error().code(), errc::cross_slot);
  // A raw multi-key command is routed by its first key; the server refuses the rest.
  const std::vector<std::string> raw{"SUNION", "alpha", "beta"};
  auto reply = client.wait(client.command(raw));
  ASSERT_TRUE(reply) << reply.error().to_string();
  ASSERT_TRUE(reply->is_error());
  EXPECT_TRUE(reply->str().starts_with("CROSSSLOT")) << reply->str();
}

TEST(ClusterRouting, MultiKeyCommandsAreSplitBySlotInOrder) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  const auto keys = spread_keys("multi:", 60);
  std::set<std::uint16_t> slots;
  std::vector<ClusterClient::Field> pairs;
  std::vector<std::string> values;
  for (const auto& k : keys) values.push_back("value-of-" + k);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    pairs.emplace_back(keys[i], values[i]);
    slots.insert(hash_slot(keys[i]));
  }
  ASSERT_GT(slots.size(), 50u);
  const auto msets_before = calls_per_node("mset");
  ASSERT_TRUE(client.wait(client.mset(pairs)));
  // One MSET per slot, each on the slot's owner; every value readable there directly.
  std::map<std::uint16_t, long long> slots_per_owner;
  for (const auto slot : slots) ++slots_per_owner[cluster()->owner_of_slot(slot).value_or(0)];
  EXPECT_EQ(slots_per_owner.size(), 3u);
  const auto msets_after = calls_per_node("mset");
  for (const auto& [port, count] : slots_per_owner) {
    EXPECT_EQ(msets_after.at(port) - msets_before.at(port), count) << "MSETs on " << port;
  }
  for (std::size_t i = 0; i < keys.size(); i += 4) {  // a sample: each check spawns redis-cli
    EXPECT_EQ(cluster()->cli(owner(keys[i]), "GET '" + keys[i] + "'"), values[i]);
  }
  // Ask for them in a different order, with missing keys in between.
  std::vector<std::string> wanted;
  for (std::size_t i = keys.size(); i-- > 0;) {
    wanted.push_back(keys[i]);
    if (i % 10 == 0) wanted.push_back("multi:missing:" + std::to_string(i));
  }
  const auto wanted_views = views(wanted);
  auto got = client.wait(client.mget(wanted_views));
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_EQ(got->size(), wanted.size());
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i].starts_with("multi:missing:")) {
      EXPECT_FALSE((*got)[i].has_value()) << wanted[i];
    } else {
      EXPECT_EQ((*got)[i], "value-of-" + wanted[i]);
    }
  }
  EXPECT_EQ(client.wait(client.exists(wanted_views)).value_or(-1), 60);
  EXPECT_EQ(client.wait(client.del(wanted_views)).value_or(-1), 60);
  EXPECT_EQ(client.wait(client.exists(wanted_views)).value_or(-1), 0);
  for (std::size_t i = 1; i < keys.size(); i += 4) {
    EXPECT_EQ(cluster()->cli(owner(keys[i]), "EXISTS '" + keys[i] + "'"), "0") << keys[i];
  }
}

// exec(max_bytes): within the bound the replies are the same as exec()'s; over it the call
// fails with resource_exhausted and the node connections stay usable.
TEST(ClusterRouting, PipelineWithAByteBound) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  const auto keys = spread_keys("bound:", 30);
  const std::string value(10000, 'v');
  auto p = client.pipeline();
  for (const auto& k : keys) p.add({"SET", k, value});
  ASSERT_TRUE(client.wait(p.exec()));
  for (const auto& k : keys) p.add({"GET", k});
  auto within = client.wait(p.exec(std::size_t{1} << 20));
  ASSERT_TRUE(within) << within.error().to_string();
  ASSERT_EQ(within->size(), keys.size());
  for (const auto& r : *within) EXPECT_EQ(r.str(), value);
  for (const auto& k : keys) p.add({"GET", k});
  const auto over = client.wait(p.exec(50000));  // 30 x 10 KB spread over 3 nodes
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), errc::resource_exhausted) << over.error().to_string();
  p.add({"GET", keys.front()});
  p.add({"PING"});
  const auto after = client.wait(p.exec(std::size_t{1} << 20));
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ((*after)[0].str(), value);
  EXPECT_EQ((*after)[1].str(), "PONG");
}

TEST(ClusterRouting, PipelineAcrossNodesKeepsReplyOrder) {
  IoThreads io(2);
  auto client = make_cluster_client(io);
  const auto keys = spread_keys("pipe:", 100);
  auto p = client.pipeline();
  for (const auto& k : keys) {
    p.add({"SET", k, k + "!"});
    p.add({"INCR", k + ":n"});
    p.add({"GET", k});
  }
  p.add({"PING"});
  ASSERT_EQ(p.size(), 301u);
  const auto sets_before = calls_per_node("set");
  auto replies = client.wait(p.exec());
  ASSERT_TRUE(replies) << replies.error().to_string();
  ASSERT_EQ(replies->size(), 301u);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ((*replies)[3 * i].str(), "OK");
    EXPECT_EQ((*replies)[3 * i + 1].as_integer(), 1);
    EXPECT_EQ((*replies)[3 * i + 2].str(), keys[i] + "!");
  }
  EXPECT_EQ(replies->back().str(), "PONG");
  EXPECT_EQ(client.stats().moved, 0u);
  // Each primary ran exactly the SETs of the keys it owns (replicas run them too, through
  // replication, so only primaries are counted), and holds their values.
  std::map<std::uint16_t, long long> owned;
  for (const auto& k : keys) ++owned[owner(k)];
  EXPECT_EQ(owned.size(), 3u);
  const auto sets_after = calls_per_node("set");
  for (const auto& [port, count] : owned) {
    EXPECT_EQ(sets_after.at(port) - sets_before.at(port), count) << "SETs on " << port;
  }
  for (std::size_t i = 0; i < keys.size(); i += 10) {
    EXPECT_EQ(cluster()->cli(owner(keys[i]), "GET '" + keys[i] + "'"), keys[i] + "!");
  }
}

long long get_calls(std::uint16_t port) {
  return calls(port, "get");
}

TEST(ClusterRouting, ReadFromReplicaSendsReadsToReplicas) {
  IoThreads io(2);
  auto writer = make_cluster_client(io);
  auto reader = make_cluster_client(io, "read_from=replica");
  ASSERT_TRUE(reader.wait(reader.refresh()));
  const auto keys = spread_keys("replica-read:", 30);
  for (const auto& k : keys) ASSERT_TRUE(writer.wait(writer.set(k, "r" + k)).value_or(false));
  // Replication is asynchronous: wait until the replicas have every key.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (const auto& k : keys) {
    while (reader.wait(reader.get(k)).value_or(std::nullopt) != "r" + k) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "replica never got " << k;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::map<std::uint16_t, long long> before;
  for (const auto port : cluster()->ports()) before[port] = get_calls(port);
  for (const auto& k : keys) {
    EXPECT_EQ(reader.wait(reader.get(k)).value_or(std::nullopt), "r" + k);
  }
  long long on_primaries = 0;
  long long on_replicas = 0;
  const auto primaries = cluster()->primaries();
  for (const auto port : cluster()->ports()) {
    const long long delta = get_calls(port) - before[port];
    if (std::find(primaries.begin(), primaries.end(), port) != primaries.end()) {
      on_primaries += delta;
    } else {
      on_replicas += delta;
    }
  }
  EXPECT_EQ(on_replicas, static_cast<long long>(keys.size()));
  EXPECT_EQ(on_primaries, 0);
  // Split multi-key reads too: each slot's part goes to a replica of that slot.
  const auto key_views = views(keys);
  std::set<std::uint16_t> slots;
  for (const auto& k : keys) slots.insert(hash_slot(k));
  const auto mgets_before = calls_per_node("mget");
  auto values = reader.wait(reader.mget(key_views));
  ASSERT_TRUE(values) << values.error().to_string();
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*values)[i], "r" + keys[i]);
  const auto mgets_after = calls_per_node("mget");
  long long mget_replicas = 0;
  for (const auto port : cluster()->ports()) {
    const long long delta = mgets_after.at(port) - mgets_before.at(port);
    if (std::find(primaries.begin(), primaries.end(), port) != primaries.end()) {
      EXPECT_EQ(delta, 0) << "MGET on primary " << port;
    } else {
      mget_replicas += delta;
    }
  }
  EXPECT_EQ(mget_replicas, static_cast<long long>(slots.size()));
  // Writes still go to primaries.
  EXPECT_TRUE(reader.wait(reader.set(keys[0], "w")).value_or(false));
  EXPECT_EQ(writer.wait(writer.get(keys[0])).value_or(std::nullopt), "w");
}

TEST(ClusterRouting, ReadFromNearestMeasuresAndServes) {
  IoThreads io(2);
  auto client = make_cluster_client(io, "read_from=nearest");
  ASSERT_TRUE(client.wait(client.refresh()));
  for (const auto& node : client.nodes()) EXPECT_GT(node.rtt.count(), 0) << node.address.text();
  ASSERT_TRUE(client.wait(client.set("nearest:k", "v")).value_or(false));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (client.wait(client.get("nearest:k")).value_or(std::nullopt) != "v") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(ClusterRouting, UnreachableSeedsAreAClearError) {
  IoThreads io(1);
  const auto dead = free_loopback_port();
  auto client = ClusterClient::create(io.executor(),
                                      "redis-cluster://:s3cret@127.0.0.1:" + std::to_string(dead) +
                                          "?max_retries=1&retry_backoff=5ms&connect_timeout=500ms");
  ASSERT_TRUE(client);
  auto got = client->wait(client->get("k"));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), errc::unavailable) << got.error().to_string();
  EXPECT_NE(got.error().message().find("no node answered CLUSTER SLOTS"), std::string::npos)
      << got.error().message();
  EXPECT_EQ(got.error().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(client->url().redacted(), "redis-cluster://:***@127.0.0.1:" + std::to_string(dead));
}

}  // namespace
}  // namespace connpool::test
