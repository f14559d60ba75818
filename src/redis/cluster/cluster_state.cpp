// Node clients, the slot map (CLUSTER SLOTS), node selection and the background refresh.
#include "cluster_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <limits>

namespace connpool::redis::cluster::detail {

namespace {

struct ParsedShard {
  NodeAddress primary;
  std::vector<NodeAddress> replicas;
  std::vector<std::pair<long long, long long>> ranges;
};

// One node entry of CLUSTER SLOTS: [ip, port, id, ...]. An empty ip means "the node you asked".
Result<NodeAddress> parse_node(const Reply& r, const NodeAddress& from) {
  const auto& e = r.elements();
  if (!r.is_array() || e.size() < 2 || !e[0].is_string() || !e[1].is_integer() ||
      e[1].as_integer() <= 0 || e[1].as_integer() > 65535) {
    return Error(errc::protocol_error, "CLUSTER SLOTS: bad node entry " + r.to_display());
  }
  NodeAddress a;
  a.host = e[0].str().empty() || e[0].str() == "?" ? from.host : e[0].str();
  a.port = static_cast<std::uint16_t>(e[1].as_integer());
  return a;
}

Result<std::vector<ParsedShard>> parse_slots(const Reply& reply, const NodeAddress& from) {
  if (!reply.is_array()) {
    return Error(errc::protocol_error, "CLUSTER SLOTS: unexpected reply " + reply.to_display());
  }
  std::vector<ParsedShard> shards;
  for (const Reply& range : reply.elements()) {
    const auto& e = range.elements();
    if (!range.is_array() || e.size() < 3 || !e[0].is_integer() || !e[1].is_integer() ||
        e[0].as_integer() < 0 || e[1].as_integer() >= kSlotCount ||
        e[0].as_integer() > e[1].as_integer()) {
      return Error(errc::protocol_error, "CLUSTER SLOTS: bad range " + range.to_display());
    }
    auto primary = parse_node(e[2], from);
    if (!primary) return std::move(primary).error();
    auto it = std::find_if(shards.begin(), shards.end(),
                           [&](const ParsedShard& s) { return s.primary == *primary; });
    if (it == shards.end()) {
      ParsedShard shard;
      shard.primary = *primary;
      for (std::size_t i = 3; i < e.size(); ++i) {
        auto replica = parse_node(e[i], from);
        if (!replica) return std::move(replica).error();
        shard.replicas.push_back(std::move(*replica));
      }
      shards.push_back(std::move(shard));
      it = std::prev(shards.end());
    }
    it->ranges.emplace_back(e[0].as_integer(), e[1].as_integer());
  }
  return shards;
}

bool same_map(const SlotMap& a, const SlotMap& b) {
  if (a.owner != b.owner || a.shards.size() != b.shards.size()) return false;
  for (std::size_t i = 0; i < a.shards.size(); ++i) {
    if (a.shards[i].primary != b.shards[i].primary ||
        a.shards[i].replicas != b.shards[i].replicas) {
      return false;
    }
  }
  return true;
}

asio::awaitable<void> refresh_task(std::shared_ptr<ClusterState> state) {
  asio::steady_timer timer(state->executor);
  for (;;) {
    // Failures are counted in refresh_failures; the next command retries.
    auto r = co_await state->refresh_once();
    (void)r;
    // After a node failure, keep polling until the failure window ends, even when the map
    // changed: a failover passes through intermediate views (the replica promoted on one
    // node, not yet on another), and stopping at the first change could keep a dead
    // primary in the map.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (now >= state->failing_until.load()) break;
    {
      std::lock_guard lock(state->mutex);
      if (state->closed) break;
    }
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  state->refresh_running = false;
}

asio::awaitable<void> refresh_loop(std::weak_ptr<ClusterState> weak,
                                   std::shared_ptr<asio::steady_timer> timer,
                                   std::chrono::milliseconds interval) {
  constexpr auto kWatchdogTick = std::chrono::milliseconds(500);
  auto next_refresh = std::chrono::steady_clock::now() + interval;
  for (;;) {
    timer->expires_after(kWatchdogTick);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled by close()
    auto state = weak.lock();
    if (!state) co_return;
    {
      std::lock_guard lock(state->mutex);
      if (state->closed) co_return;
    }
    // A dead node makes its pool's acquirers wait (acquire_timeout) without any command
    // failing; its failed reconnects are the only early sign.
    if (state->nodes_failing()) state->note_node_failure();
    const auto now = std::chrono::steady_clock::now();
    if (interval.count() > 0 && now >= next_refresh) {
      next_refresh = now + interval;
      if (!state->refresh_running.exchange(true)) {
        auto r = co_await state->refresh_now();
        (void)r;
        state->refresh_running = false;
      }
    }
  }
}

}  // namespace

ClusterState::~ClusterState() {
  close();
}

std::shared_ptr<const SlotMap> ClusterState::current_map() const {
  std::lock_guard lock(mutex);
  return map;
}

Result<NodePtr> ClusterState::node_for(const NodeAddress& address) {
  const std::string key = address.text();
  {
    std::lock_guard lock(mutex);
    if (closed) return Error(errc::pool_closed, "redis cluster client is closed");
    if (auto it = nodes.find(key); it != nodes.end()) return it->second;
  }
  // Created outside the lock: the hook is user code and Client::create starts the pools.
  core::PoolOptions node_options = options;
  node_options.name = options.name + "@" + key;
  node_options.node = key;
  // Each node's pools observed on their own (one shared observer would merge the nodes'
  // events); a configure_pool hook may still override it.
  node_options.observer =
      options.observer_factory ? options.observer_factory(node_options) : nullptr;
  if (hooks.configure_pool) hooks.configure_pool(address, node_options);
  auto client = Client::create(executor, url.node_url(address), node_options);
  if (!client) return std::move(client).error().with_context("redis cluster node " + key);
  auto node = std::make_shared<Node>(address, std::move(*client));
  std::lock_guard lock(mutex);
  auto [it, inserted] = nodes.emplace(key, node);
  if (!inserted) node->client.close_now();  // another caller won the race
  return it->second;
}

Result<bool> ClusterState::install(const Reply& slots, const NodeAddress& from) {
  auto parsed = parse_slots(slots, from);
  if (!parsed) return std::move(parsed).error();
  if (parsed->empty()) {
    return Error(errc::unavailable, "CLUSTER SLOTS from " + from.text() + ": no slot is assigned");
  }
  auto next = std::make_shared<SlotMap>();
  next->owner.fill(kNoShard);
  for (const ParsedShard& p : *parsed) {
    Shard shard;
    auto primary = node_for(p.primary);
    if (!primary) return std::move(primary).error();
    shard.primary = *primary;
    for (const auto& r : p.replicas) {
      auto replica = node_for(r);
      if (!replica) return std::move(replica).error();
      shard.replicas.push_back(*replica);
    }
    const auto index = static_cast<std::uint16_t>(next->shards.size());
    for (auto [first, last] : p.ranges) {
      std::fill(next->owner.begin() + first, next->owner.begin() + last + 1, index);
    }
    next->shards.push_back(std::move(shard));
  }
  // Nodes that left the map (failed, removed) are closed; commands that still hold one fail
  // with pool_closed, which is retried against the new map.
  std::vector<NodePtr> gone;
  bool changed = true;
  {
    std::lock_guard lock(mutex);
    if (closed) return Error(errc::pool_closed, "redis cluster client is closed");
    changed = !map || !same_map(*map, *next);
    for (auto it = nodes.begin(); it != nodes.end();) {
      const bool used = std::any_of(next->shards.begin(), next->shards.end(), [&](const Shard& s) {
        return s.primary == it->second ||
               std::find(s.replicas.begin(), s.replicas.end(), it->second) != s.replicas.end();
      });
      if (used) {
        ++it;
      } else {
        gone.push_back(it->second);
        it = nodes.erase(it);
      }
    }
    map = std::move(next);
  }
  for (auto& node : gone) node->client.close_now();
  return changed;
}

asio::awaitable<Result<void>> ClusterState::refresh_now() {
  auto r = co_await refresh_once();
  if (!r) co_return std::move(r).error();
  co_return ok();
}

asio::awaitable<Result<bool>> ClusterState::refresh_once() {
  std::vector<NodeAddress> candidates;
  if (auto m = current_map()) {
    for (const auto& s : m->shards) candidates.push_back(s.primary->address);
    for (const auto& s : m->shards) {
      for (const auto& r : s.replicas) candidates.push_back(r->address);
    }
  }
  for (const auto& seed : url.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) {
      candidates.push_back(seed);
    }
  }
  std::string last_error = "no candidate node";
  {
    std::lock_guard lock(mutex);
    if (closed) co_return Error(errc::pool_closed, "redis cluster client is closed");
  }
  for (const auto& address : candidates) {
    // A connection of its own, not the node's pool: a dead node's pool makes callers wait
    // up to acquire_timeout, while a direct connect to it fails at once (or after
    // connect_timeout), and the next candidate is asked.
    const RedisUrl node_url = url.node_url(address);
    auto conn = co_await Connection::connect(executor, node_url);
    if (!conn) {
      last_error = conn.error().to_string();
      continue;
    }
    const std::array<std::string_view, 2> args{"CLUSTER", "SLOTS"};
    auto reply = co_await (*conn)->execute(args);
    if (!reply) {
      last_error = address.text() + ": " + reply.error().to_string();
      continue;
    }
    if (reply->is_error()) {
      last_error = address.text() + ": " + reply->str();
      continue;
    }
    auto installed = install(*reply, address);
    if (!installed) {
      last_error = installed.error().to_string();
      if (installed.error().is(errc::pool_closed)) break;
      continue;
    }
    ++refreshes;
    if (url.read_from == ReadFrom::nearest) co_await measure_rtts();
    co_return *installed;
  }
  ++refresh_failures;
  co_return Error(errc::unavailable, "redis cluster: no node answered CLUSTER SLOTS (tried " +
                                         std::to_string(candidates.size()) +
                                         "); last error: " + last_error);
}

asio::awaitable<void> ClusterState::measure_rtts() {
  auto m = current_map();
  if (!m) co_return;
  const std::array<std::string_view, 1> ping{"PING"};
  for (const auto& s : m->shards) {
    std::vector<NodePtr> members{s.primary};
    members.insert(members.end(), s.replicas.begin(), s.replicas.end());
    for (const auto& node : members) {
      const auto start = std::chrono::steady_clock::now();
      auto r = co_await node->client.command(ping);
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      // An unreachable node is "far": it is picked last.
      node->rtt_us = r && !r->is_error() ? std::max<std::int64_t>(us, 1)
                                         : std::numeric_limits<std::int64_t>::max();
    }
  }
}

void ClusterState::note_node_failure() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  failing_until = until.time_since_epoch().count();
  request_refresh();
}

void ClusterState::request_refresh() {
  if (refresh_running.exchange(true)) return;
  asio::co_spawn(executor, refresh_task(shared_from_this()), asio::detached);
}

void ClusterState::apply_moved(std::uint16_t slot, const NodePtr& node) {
  std::lock_guard lock(mutex);
  if (closed) return;
  auto next = map ? std::make_shared<SlotMap>(*map) : std::make_shared<SlotMap>();
  if (!map) next->owner.fill(kNoShard);
  auto it = std::find_if(next->shards.begin(), next->shards.end(),
                         [&](const Shard& s) { return s.primary == node; });
  if (it == next->shards.end()) {
    next->shards.push_back(Shard{node, {}});
    it = std::prev(next->shards.end());
  }
  next->owner[slot] = static_cast<std::uint16_t>(it - next->shards.begin());
  map = std::move(next);
}

asio::awaitable<Result<NodePtr>> ClusterState::pick(std::optional<std::uint16_t> slot,
                                                    bool read_only) {
  auto m = current_map();
  if (!m) {
    auto loaded = co_await refresh_now();
    if (!loaded) co_return std::move(loaded).error();
    m = current_map();
    if (!m) co_return Error(errc::pool_closed, "redis cluster client is closed");
  }
  const auto n = round_robin.fetch_add(1, std::memory_order_relaxed);
  if (!slot) co_return m->shards[n % m->shards.size()].primary;
  const auto index = m->owner[*slot];
  if (index == kNoShard) {
    co_return Error(errc::unavailable,
                    "redis cluster: slot " + std::to_string(*slot) + " is not served by any node");
  }
  const Shard& shard = m->shards[index];
  if (!read_only || url.read_from == ReadFrom::primary || shard.replicas.empty()) {
    co_return shard.primary;
  }
  if (url.read_from == ReadFrom::replica) co_return shard.replicas[n % shard.replicas.size()];
  // nearest: the lowest measured round trip; unmeasured nodes (0) count as far.
  NodePtr best = shard.primary;
  auto rtt = [](const NodePtr& p) {
    const auto v = p->rtt_us.load(std::memory_order_relaxed);
    return v > 0 ? v : std::numeric_limits<std::int64_t>::max() - 1;
  };
  for (const auto& r : shard.replicas) {
    if (rtt(r) < rtt(best)) best = r;
  }
  co_return best;
}

bool ClusterState::nodes_failing() {
  auto m = current_map();
  if (!m) return false;
  bool failing = false;
  auto check = [&](const NodePtr& node) {
    const auto failures = node->client.pool().stats().connect_failures;
    if (failures > node->seen_connect_failures.exchange(failures)) failing = true;
  };
  for (const auto& s : m->shards) {
    check(s.primary);
    for (const auto& r : s.replicas) check(r);
  }
  return failing;
}

void ClusterState::start_refresh_loop() {
  asio::co_spawn(strand, refresh_loop(weak_from_this(), refresh_timer, url.refresh_interval),
                 asio::detached);
}

void ClusterState::close() noexcept {
  std::map<std::string, NodePtr> closing;
  {
    std::lock_guard lock(mutex);
    if (closed) return;
    closed = true;
    closing.swap(nodes);
    map.reset();
  }
  // The timer is only touched on its strand.
  asio::post(strand, [timer = refresh_timer] { timer->cancel(); });
  for (auto& [name, node] : closing) node->client.close_now();
}

}  // namespace connpool::redis::cluster::detail
