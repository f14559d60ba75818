// The proxy's Redis Cluster upstream (see cluster_upstream.hpp, docs/proxy.md).
#include "cluster_upstream.hpp"

#include "connpool/proxy/command_rules.hpp"
#include "connpool/proxy/resp_writer.hpp"

// The Cluster client's routing rule (which argument is the key), shared rather than copied.
#include "../redis/batch_within.hpp"
#include "../redis/cluster/command_keys.hpp"
#include "../redis/cluster/redirect.hpp"
#include "cluster_split.hpp"

#include <algorithm>
#include <chrono>

namespace connpool::proxy::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Redirects a blocking command follows before its client gets the last one as an error.
constexpr std::size_t kMaxRedirects = 5;

namespace {

std::vector<std::string_view> views_of(const std::vector<std::string>& command) {
  return std::vector<std::string_view>(command.begin(), command.end());
}

// Renders a server reply and counts it.
void render(std::string& out, const redis::Reply& reply, Metrics& metrics) {
  append_resp(out, reply);
  (reply.is_error() ? metrics.error : metrics.ok).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::optional<std::uint16_t> key_slot(const std::vector<std::string>& command) {
  const auto views = views_of(command);
  const auto route = redis::cluster::detail::route_of(views);
  if (!route.key) return std::nullopt;
  return redis::cluster::hash_slot(*route.key);
}

std::string max_pinned_line(std::size_t limit) {
  return error_line("ERR connpool proxy: too many pinned clients (rule: max-pinned, limit " +
                    std::to_string(limit) + ")");
}

std::optional<LeaseRedirect> redirect_of(const redis::Reply& reply,
                                         const redis::cluster::NodeAddress& from) {
  if (!reply.is_error()) return std::nullopt;
  const std::string_view text = reply.str();
  const bool ask = text.starts_with("ASK ");
  if (!ask && !text.starts_with("MOVED ")) return std::nullopt;
  redis::cluster::detail::RedirectTarget parsed;
  if (!redis::cluster::detail::parse_redirect(text, from, parsed)) return std::nullopt;
  return LeaseRedirect{ask, parsed.slot, std::move(parsed.target)};
}

std::string redirect_message(const LeaseRedirect& redirect, std::string_view code) {
  return std::string(code) + " connpool proxy: slot " + std::to_string(redirect.slot) +
         (redirect.ask ? " is migrating to " : " moved to ") + redirect.target.text() +
         " while this client was pinned to another node (MULTI, WATCH or a blocking command); "
         "retry the transaction";
}

std::string failure_message(const Error& e) {
  return "ERR connpool proxy: upstream " + std::string(to_string(e.code())) + ": " + e.message();
}

std::string failure_line(const Error& e) {
  return error_line(failure_message(e));
}

asio::awaitable<ClusterOutcome> ClusterUpstream::forward(Action& action, ClientRefs refs) {
  const auto started = Clock::now();
  ClusterOutcome outcome;
  switch (action.target) {
    case Target::shared:
      outcome.overflow = !co_await shared(action, refs, outcome.bytes);
      break;
    case Target::exclusive_once:
      outcome.overflow = !co_await blocking(action, refs, outcome.bytes);
      break;
    case Target::pinned:
      co_await pinned(action, refs, outcome);
      break;
  }
  const auto elapsed = Clock::now() - started;
  for (std::size_t i = 0; i < action.commands.size(); ++i) refs.metrics.latency.record(elapsed);
  co_return outcome;
}

asio::awaitable<bool> ClusterUpstream::shared(Action& action, ClientRefs& refs, std::string& out) {
  auto pipeline = client_.pipeline();
  std::vector<std::optional<SlotSplit>> splits;
  std::vector<bool> scans;  // per command: a cluster-wide SCAN, sent after the pipeline
  splits.reserve(action.commands.size());
  for (const auto& command : action.commands) {
    scans.push_back(iequals(command.front(), "scan"));
    splits.push_back(scans.back() ? std::nullopt : split_by_slot(command));
    if (scans.back()) continue;
    if (splits.back()) {
      for (const auto& part : splits.back()->parts) pipeline.add(views_of(part));
    } else {
      pipeline.add(views_of(command));
    }
  }
  Result<std::vector<redis::Reply>> replies{std::vector<redis::Reply>{}};
  // Replies beyond the client's output room are not gathered (the client is cut off as a slow
  // reader), so a pipeline of large GETs never makes the proxy hold max_batch large replies.
  if (pipeline.size() > 0) replies = co_await pipeline.exec(refs.room);
  if (!replies && replies.error().is(errc::resource_exhausted)) co_return false;
  if (!replies) {
    const std::string line = failure_line(replies.error());
    for (std::size_t i = 0; i < action.commands.size(); ++i) out += line;
    refs.metrics.failed.fetch_add(action.commands.size(), std::memory_order_relaxed);
    co_return true;
  }
  std::size_t next = 0;
  for (std::size_t i = 0; i < splits.size(); ++i) {
    const auto& split = splits[i];
    if (scans[i]) {
      render(out, co_await scan(action.commands[i]), refs.metrics);
    } else if (split) {
      const std::span<redis::Reply> parts(replies->data() + next, split->parts.size());
      next += split->parts.size();
      render(out, merge_parts(*split, parts), refs.metrics);
    } else {
      render(out, (*replies)[next++], refs.metrics);
    }
  }
  co_return true;
}

asio::awaitable<bool> ClusterUpstream::blocking(Action& action, ClientRefs& refs,
                                                std::string& out) {
  // The session sends a blocking command alone; the server answers CROSSSLOT when its other
  // keys are on other slots.
  const auto n = action.commands.size();
  if (!refs.take_pin_slot()) {
    for (std::size_t i = 0; i < n; ++i) {
      out += max_pinned_line(refs.max_pinned);
      refs.metrics.refuse("max-pinned");
    }
    co_return true;
  }
  // A blocking command never runs when redirected: MOVED (the slot map was stale) is followed
  // to the new owner, ASK (a slot migrating) with ASKING on the importing node.
  const auto slot = key_slot(action.commands.front());
  std::optional<LeaseRedirect> redirect;
  Result<std::vector<redis::Reply>> replies;
  bool overflow = false;
  for (std::size_t hops = 0;; ++hops) {
    // Not `co_await (c ? a() : b())`: GCC mis-handles the temporaries of a conditional
    // co_await operand (the frame crashed).
    Result<NodeLease> got = Error(errc::unavailable, "not leased");
    if (redirect) {
      got = co_await exclusive_at(redirect->target);
    } else {
      got = co_await exclusive(slot);
    }
    if (!got) {
      refs.metrics.pinned.fetch_sub(1);
      for (std::size_t i = 0; i < n; ++i) out += failure_line(got.error());
      refs.metrics.failed.fetch_add(n, std::memory_order_relaxed);
      co_return true;
    }
    auto& [lease, node] = *got;
    const bool asking = redirect && redirect->ask;
    redis::RequestBatch batch;
    if (asking) batch.add(std::vector<std::string_view>{"ASKING"});
    for (const auto& command : action.commands) batch.add(views_of(command));
    refs.blocking = true;
    auto stop_watching = refs.watch_hangup(*lease);
    // A blocking command waits as long as the client asked (BLPOP k 0: forever).
    // Its reply is gathered only within the client's output room (ClientRefs::room).
    auto within = co_await redis::detail::execute_within(*lease, batch,
                                                         std::chrono::milliseconds(0), refs.room);
    stop_watching();
    refs.blocking = false;
    if (lease->broken()) lease.discard();
    overflow = !within && within.error().is(errc::resource_exhausted);
    if (within) {
      replies = std::move(within->replies);
    } else {
      replies = std::move(within).error();
    }
    if (overflow) break;
    if (replies && asking) replies->erase(replies->begin());
    redirect.reset();
    if (replies && replies->size() == 1) redirect = redirect_of(replies->front(), node);
    if (!redirect) break;
    if (hops >= kMaxRedirects) {
      replies->front() = redis::Reply::error(redirect_message(*redirect));
      break;
    }
    if (!redirect->ask) co_await client_.refresh();  // the map was stale: reload it
  }
  refs.metrics.pinned.fetch_sub(1);
  if (overflow) co_return false;
  if (!replies) {
    for (std::size_t i = 0; i < n; ++i) out += failure_line(replies.error());
    refs.metrics.failed.fetch_add(n, std::memory_order_relaxed);
    co_return true;
  }
  for (const auto& r : *replies) render(out, r, refs.metrics);
  co_return true;
}

asio::awaitable<Result<ClusterUpstream::NodeLease>> ClusterUpstream::exclusive(
    std::optional<std::uint16_t> slot) {
  auto nodes = client_.nodes();
  if (nodes.empty() || (slot && !client_.primary_for_slot(*slot))) {
    if (auto loaded = co_await client_.refresh(); !loaded) co_return std::move(loaded).error();
    nodes = client_.nodes();
  }
  const auto owner = slot ? client_.primary_for_slot(*slot) : std::nullopt;
  for (auto& node : nodes) {
    if (node.role != redis::cluster::NodeRole::primary || (owner && node.address != *owner)) {
      continue;
    }
    auto lease = co_await node.client.exclusive_pool().acquire();
    if (!lease) co_return std::move(lease).error();
    co_return NodeLease{std::move(*lease), node.address};
  }
  co_return Error(errc::unavailable, "redis cluster: no primary serves slot " +
                                         (slot ? std::to_string(*slot) : std::string("(any)")));
}

asio::awaitable<Result<ClusterUpstream::NodeLease>> ClusterUpstream::exclusive_at(
    redis::cluster::NodeAddress address) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (auto& node : client_.nodes()) {
      if (node.address != address) continue;
      auto lease = co_await node.client.exclusive_pool().acquire();
      if (!lease) co_return std::move(lease).error();
      co_return NodeLease{std::move(*lease), node.address};
    }
    if (attempt == 0) {
      if (auto loaded = co_await client_.refresh(); !loaded) co_return std::move(loaded).error();
    }
  }
  co_return Error(errc::unavailable,
                  "redis cluster: redirected to " + address.text() + ", not in the slot map");
}

asio::awaitable<std::vector<redis::RedisUrl>> ClusterUpstream::pubsub_endpoints() {
  if (client_.nodes().empty()) co_await client_.refresh();  // on failure: the seeds alone
  const auto& url = client_.url();
  std::vector<redis::cluster::NodeAddress> addresses;
  for (const auto& node : client_.nodes()) addresses.push_back(node.address);
  const std::size_t in_map = addresses.size();
  for (const auto& seed : url.seeds) {
    if (std::find(addresses.begin(), addresses.end(), seed) == addresses.end()) {
      addresses.push_back(seed);
    }
  }
  // Rotated among the map's nodes (the seeds stay last: they may be stale).
  if (in_map > 1) {
    const auto first = next_subscriber_.fetch_add(1, std::memory_order_relaxed) % in_map;
    std::rotate(addresses.begin(), addresses.begin() + static_cast<std::ptrdiff_t>(first),
                addresses.begin() + static_cast<std::ptrdiff_t>(in_map));
  }
  std::vector<redis::RedisUrl> endpoints;
  for (const auto& address : addresses) endpoints.push_back(url.node_url(address));
  co_return endpoints;
}

}  // namespace connpool::proxy::detail
