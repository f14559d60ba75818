// A primary killed under load and replaced by the cluster itself (no FAILOVER command): its
// replica is promoted after cluster-node-timeout and the election, and the client follows.
// The killed node is restarted (it rejoins as a replica) and the cluster is healthy again
// before the test returns, so no other test depends on the order.
#include "cluster_fixture.hpp"

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

using redis::cluster::ClusterClient;
using redis::cluster::hash_slot;
using redis::cluster::kSlotCount;
using Clock = std::chrono::steady_clock;

enum class Kind { set, get, incr };

// One command as a caller saw it.
struct Op {
  Kind kind = Kind::get;
  std::string key;
  Clock::time_point start;
  Clock::time_point end;
  bool ok = true;
  bool stale = false;  // a GET that did not return the value the same caller just SET
  Error error;
};

class Journal {
 public:
  void add(Op op) {
    std::lock_guard lock(mutex_);
    ops_.push_back(std::move(op));
  }
  std::vector<Op> take() {
    std::lock_guard lock(mutex_);
    return std::move(ops_);
  }

 private:
  std::mutex mutex_;
  std::vector<Op> ops_;
};

template <class T>
Op record(Kind kind, const std::string& key, Clock::time_point start, const Result<T>& r) {
  Op op;
  op.kind = kind;
  op.key = key;
  op.start = start;
  op.end = Clock::now();
  op.ok = r.has_value();
  if (!op.ok) op.error = r.error();
  return op;
}

// The keys and counters of one caller, all on the dead primary's slots or all elsewhere: a
// caller runs one command at a time, so one that touches both would stall on the dead slots
// and prove nothing about the others.
struct Keys {
  std::vector<std::string> keys;
  std::vector<std::string> counters;
};

Keys keys_for(int worker, const std::vector<bool>& wanted_slot) {
  Keys k;
  for (int i = 0; k.keys.size() < 32 || k.counters.size() < 4; ++i) {
    std::string key = "afo:" + std::to_string(worker) + ":" + std::to_string(i);
    if (!wanted_slot[hash_slot(key)]) continue;
    if (k.keys.size() < 32) {
      k.keys.push_back(std::move(key));
    } else {
      k.counters.push_back(key + ":ctr");  // a different slot than `key`, so check it too
      if (!wanted_slot[hash_slot(k.counters.back())]) k.counters.pop_back();
    }
  }
  return k;
}

// SET then GET of the caller's keys, and INCR of its counters.
boost::asio::awaitable<void> load_worker(ClusterClient client, Keys keys, std::atomic<bool>& stop,
                                         Journal& journal) {
  for (std::size_t i = 0; !stop.load(); ++i) {
    const std::string& key = keys.keys[i % keys.keys.size()];
    const std::string value = std::to_string(i);
    auto start = Clock::now();
    auto set = co_await client.set(key, value);
    journal.add(record(Kind::set, key, start, set));
    if (set) {
      start = Clock::now();
      auto got = co_await client.get(key);
      Op op = record(Kind::get, key, start, got);
      op.stale = got && *got != value;
      journal.add(std::move(op));
    }
    const std::string& counter = keys.counters[i % keys.counters.size()];
    start = Clock::now();
    auto n = co_await client.incr(counter);
    journal.add(record(Kind::incr, counter, start, n));
  }
}

// SETs of `keys` and then WAIT 1 on one exclusive connection of `node`: the writes are on a
// replica when this returns a count >= 1.
boost::asio::awaitable<Result<long long>> write_replicated(redis::Client node,
                                                           std::vector<std::string> keys) {
  auto lease = co_await node.lease();
  if (!lease) co_return std::move(lease).error();
  redis::RequestBatch batch;
  for (const auto& k : keys) {
    const std::string value = "durable-" + k;
    const std::array<std::string_view, 3> set{"SET", k, value};
    batch.add(set);
  }
  const std::array<std::string_view, 3> wait{"WAIT", "1", "5000"};
  batch.add(wait);
  auto replies = co_await (*lease)->execute(batch);
  if (!replies) co_return std::move(replies).error();
  for (std::size_t i = 0; i + 1 < replies->size(); ++i) {
    if ((*replies)[i].str() != "OK") co_return Error(errc::unknown, "SET " + keys[i] + " failed");
  }
  co_return replies->back().as_integer();
}

// The errors docs/redis-cluster.md promises for a node that dies: the fate of a written
// command (io_error, timeout), an unreachable node past max_retries, CLUSTERDOWN past
// max_retries.
bool promised(const Error& e) {
  if (e.is(errc::server_error)) return e.message().find("CLUSTERDOWN") != std::string::npos;
  return e.is(errc::io_error) || e.is(errc::timeout) || e.is(errc::connect_failed) ||
         e.is(errc::connect_timeout) || e.is(errc::circuit_open) || e.is(errc::pool_closed) ||
         e.is(errc::unavailable) || e.is(errc::acquire_timeout);
}

// Runs a function when the scope ends.
class Finally {
 public:
  explicit Finally(std::function<void()> f) : f_(std::move(f)) {}
  ~Finally() { f_(); }
  Finally(const Finally&) = delete;
  Finally& operator=(const Finally&) = delete;

 private:
  std::function<void()> f_;
};

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

TEST(ClusterFailover, AutomaticFailoverUnderLoadIsFollowed) {
  // Whatever ran before, start from a cluster whose nodes all agree and are healthy.
  std::string healthy_error;
  ASSERT_TRUE(cluster()->wait_healthy(std::chrono::seconds(30), &healthy_error)) << healthy_error;
  IoThreads io(2);
  auto client = make_cluster_client(io);
  ASSERT_TRUE(client.wait(client.refresh()));
  const int probe_slot = hash_slot("{afo}");
  const auto victim = cluster()->owner_of_slot(probe_slot).value_or(0);
  ASSERT_NE(victim, 0);
  const auto heir = cluster()->replica_of(victim);
  ASSERT_TRUE(heir.has_value()) << "primary " << victim << " has no replica";
  std::vector<bool> victim_slot(kSlotCount, false);
  std::size_t victim_slots = 0;
  for (int s = 0; s < kSlotCount; ++s) {
    const auto owner = client.primary_for_slot(static_cast<std::uint16_t>(s));
    ASSERT_TRUE(owner.has_value()) << s;
    if (owner->port == victim) {
      victim_slot[static_cast<std::size_t>(s)] = true;
      ++victim_slots;
    }
  }
  ASSERT_GT(victim_slots, 0u);

  // Keys acknowledged by a replica before the kill must survive the failover.
  std::vector<std::string> durable;
  for (int i = 0; durable.size() < 40; ++i) {
    std::string k = "afo:durable:" + std::to_string(i);
    if (victim_slot[hash_slot(k)]) durable.push_back(std::move(k));
  }
  std::optional<redis::Client> victim_client;
  for (const auto& n : client.nodes()) {
    if (n.address.port == victim) victim_client = n.client;
  }
  ASSERT_TRUE(victim_client.has_value());
  auto acked = io.run(write_replicated(*victim_client, durable));
  ASSERT_TRUE(acked) << acked.error().to_string();
  ASSERT_GE(*acked, 1) << "WAIT: no replica acknowledged the writes";

  // Half the callers on the dead primary's slots, half on the others.
  constexpr int kWorkers = 8;
  std::vector<bool> other_slot(victim_slot.size());
  for (std::size_t s = 0; s < victim_slot.size(); ++s) other_slot[s] = !victim_slot[s];
  std::atomic<bool> stop{false};
  Journal journal;
  std::vector<std::future<void>> workers;
  for (int w = 0; w < kWorkers; ++w) {
    auto keys = keys_for(w, w % 2 == 0 ? victim_slot : other_slot);
    workers.push_back(boost::asio::co_spawn(io.context(),
                                            load_worker(client, std::move(keys), stop, journal),
                                            boost::asio::use_future));
  }
  // However the test ends (a failed ASSERT returns early): stop the callers before the
  // objects they use go away, and bring the killed node back for the tests that follow.
  Finally cleanup([&] {
    stop = true;
    for (auto& w : workers) {
      if (w.valid()) w.wait_for(std::chrono::seconds(60));
    }
    if (!cluster()->running(victim)) {
      std::string error;
      if (!cluster()->restart(victim, &error) ||
          !cluster()->wait_healthy(std::chrono::seconds(30), &error)) {
        ADD_FAILURE() << "could not restore the cluster: " << error;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const auto killed_at = Clock::now();
  cluster()->kill(victim);  // SIGKILL; returns once the process is reaped
  const auto dead_at = Clock::now();
  // No FAILOVER command: the other primaries flag the node FAIL after cluster-node-timeout
  // and the replica wins an election.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (cluster()->owner_of_slot(probe_slot) != heir) {
    ASSERT_LT(Clock::now(), deadline) << "the replica was not promoted automatically";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto promoted_at = Clock::now();
  // The client's map: every slot of the dead primary points at the promoted replica.
  auto followed = [&] {
    for (int s = 0; s < kSlotCount; ++s) {
      if (!victim_slot[static_cast<std::size_t>(s)]) continue;
      const auto owner = client.primary_for_slot(static_cast<std::uint16_t>(s));
      if (!owner || owner->port != *heir) return false;
    }
    return true;
  };
  const auto follow_deadline = Clock::now() + std::chrono::seconds(15);
  while (!followed()) {
    ASSERT_LT(Clock::now(), follow_deadline) << "the client never installed the new primary";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto followed_at = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (auto& w : workers) {
    // A generous bound, only so that a hang fails the test instead of blocking ctest.
    ASSERT_EQ(w.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "a worker hung";
    w.get();
  }

  const auto ops = journal.take();
  std::map<std::string, std::size_t> errors_by_code;
  std::size_t ok = 0;
  std::size_t victim_errors = 0;
  std::size_t stale = 0;
  Clock::time_point last_error = killed_at;
  std::size_t healthy_ok_in_window = 0;  // succeeded on other slots between kill and promotion
  Clock::duration slowest_healthy{};
  Clock::duration slowest_victim{};
  struct Counter {
    long long ok = 0;
    long long maybe_applied = 0;   // ok + failures whose command may have run
    long long ok_after_death = 0;  // certainly applied by the promoted replica
  };
  std::map<std::string, Counter> counters;
  for (const auto& op : ops) {
    const bool on_victim = victim_slot[hash_slot(op.key)];
    if (op.kind == Kind::incr) {
      auto& c = counters[op.key];
      if (op.ok) {
        ++c.ok;
        ++c.maybe_applied;
        if (op.start > dead_at) ++c.ok_after_death;
      } else if (op.error.is(errc::io_error) || op.error.is(errc::timeout)) {
        ++c.maybe_applied;  // written, fate unknown; every other error means never sent
      }
    }
    if (op.stale) {
      ++stale;
      // Replication is asynchronous: a SET acknowledged by the old primary just before the
      // kill may be missing on the replica. Nowhere else may a read be stale.
      EXPECT_TRUE(on_victim) << "stale GET " << op.key << " on a healthy primary";
      EXPECT_GT(op.end, killed_at) << "stale GET " << op.key << " before the kill";
      EXPECT_LT(op.start, followed_at) << "stale GET " << op.key << " after the client followed";
    }
    if (op.end > killed_at) {
      auto& slowest = on_victim ? slowest_victim : slowest_healthy;
      slowest = std::max(slowest, op.end - op.start);
    }
    if (op.ok) {
      ++ok;
      if (!on_victim && op.start > dead_at && op.end < promoted_at) ++healthy_ok_in_window;
      continue;
    }
    ++errors_by_code[std::string(to_string(op.error.code()))];
    last_error = std::max(last_error, op.end);
    EXPECT_TRUE(on_victim) << "a command to a healthy primary failed: " << op.key << ": "
                           << op.error.to_string();
    if (on_victim) ++victim_errors;
    EXPECT_TRUE(promised(op.error)) << op.error.to_string();
    EXPECT_GE(op.end, killed_at) << op.error.to_string();
    EXPECT_LT(op.start, promoted_at) << "failed after the promotion: " << op.error.to_string();
  }
  EXPECT_GT(ok, 0u);
  // The other primaries kept serving while the dead one's slots had no owner.
  EXPECT_GT(healthy_ok_in_window, 0u);

  // After the promotion every command succeeds and goes to the promoted replica; the dead
  // node is gone from the client's view.
  EXPECT_TRUE(followed());
  for (const auto& n : client.nodes())
    EXPECT_NE(n.address.port, victim) << "dead node still mapped";
  for (const auto& k : durable) {
    EXPECT_EQ(client.wait(client.get(k)).value_or(std::nullopt), "durable-" + k);
  }
  EXPECT_TRUE(client.wait(client.set("{afo}:after", "yes")).value_or(false));
  EXPECT_EQ(cluster()->cli(*heir, "GET '{afo}:after'"), "yes");
  // Counters on healthy primaries: exactly the successful INCRs. On the dead primary's slots,
  // never more than the INCRs that may have run (nothing applied twice), and at least those
  // the promoted replica acknowledged (increments acknowledged by the old primary but not
  // yet replicated may be lost: Redis Cluster replicates asynchronously).
  for (const auto& [key, c] : counters) {
    const auto value = client.wait(client.get(key));
    ASSERT_TRUE(value) << value.error().to_string();
    const long long n = value->has_value() ? std::stoll(**value) : 0;
    if (!victim_slot[hash_slot(key)]) {
      EXPECT_EQ(n, c.ok) << key;
    } else {
      EXPECT_LE(n, c.maybe_applied) << key;
      EXPECT_GE(n, c.ok_after_death) << key;
    }
  }

  std::string codes;
  for (const auto& [code, count] : errors_by_code) {
    codes += " " + code + "=" + std::to_string(count);
  }
  const auto stats = client.stats();
  std::printf(
      "automatic failover: promoted %lld ms after the kill, client followed %lld ms later; "
      "%zu ok, %zu errors (all on the dead primary's slots; last %lld ms after the kill):%s; "
      "%zu stale reads; %zu ok on other slots during the gap; slowest command %lld ms on the "
      "dead slots, %lld ms elsewhere; %llu retries, %llu refreshes\n",
      ms(promoted_at - killed_at), ms(followed_at - promoted_at), ok, victim_errors,
      ms(last_error - killed_at), codes.c_str(), stale, healthy_ok_in_window, ms(slowest_victim),
      ms(slowest_healthy), static_cast<unsigned long long>(stats.retries),
      static_cast<unsigned long long>(stats.refreshes));

  // Bring the old primary back: it rejoins as a replica of its heir.
  std::string error;
  ASSERT_TRUE(cluster()->restart(victim, &error)) << error;
  ASSERT_TRUE(cluster()->wait_healthy(std::chrono::seconds(30), &error)) << error;
}

}  // namespace
}  // namespace connpool::test
