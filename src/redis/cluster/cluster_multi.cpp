// Multi-key commands split by hash slot, and pipelines split by node. Parts run concurrently
// (one coroutine per slot or node) and the replies are put back in the caller's order.
#include "../batch_within.hpp"
#include "../client_state.hpp"
#include "cluster_state.hpp"
#include "command_keys.hpp"
#include "run_all.hpp"

#include <array>
#include <map>

namespace connpool::redis::cluster {

namespace {

struct SlotGroup {
  std::uint16_t slot = 0;
  std::vector<std::size_t> indices;  // positions in the caller's key list
};

// Groups in order of first appearance, so the split is deterministic.
std::vector<SlotGroup> group_by_slot(std::span<const std::string_view> keys) {
  std::vector<SlotGroup> groups;
  std::map<std::uint16_t, std::size_t> where;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto slot = hash_slot(keys[i]);
    auto [it, inserted] = where.emplace(slot, groups.size());
    if (inserted) groups.push_back(SlotGroup{slot, {}});
    groups[it->second].indices.push_back(i);
  }
  return groups;
}

// One command per group, "CMD k1 k2 ..." (or "CMD k1 v1 k2 v2 ..." for MSET).
std::vector<std::vector<std::string_view>> per_group_args(
    std::string_view cmd, const std::vector<SlotGroup>& groups,
    std::span<const std::string_view> keys, std::span<const std::string_view> values = {}) {
  std::vector<std::vector<std::string_view>> out;
  out.reserve(groups.size());
  for (const auto& g : groups) {
    std::vector<std::string_view> args{cmd};
    for (const auto i : g.indices) {
      args.push_back(keys[i]);
      if (!values.empty()) args.push_back(values[i]);
    }
    out.push_back(std::move(args));
  }
  return out;
}

boost::asio::awaitable<std::vector<Result<Reply>>> run_groups(
    std::shared_ptr<detail::ClusterState> state, const std::vector<SlotGroup>& groups,
    const std::vector<std::vector<std::string_view>>& args, bool read_only) {
  std::vector<boost::asio::awaitable<Result<Reply>>> ops;
  ops.reserve(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::optional<std::uint16_t> slot = groups[i].slot;
    ops.push_back(detail::execute(state, args[i], slot, read_only));
  }
  co_return co_await detail::run_all(std::move(ops));
}

// The first failure among the parts, as an error (a server error reply included).
std::optional<Error> first_failure(std::vector<Result<Reply>>& replies, std::string_view cmd) {
  for (auto& r : replies) {
    if (!r) return r.error().with_context("redis cluster " + std::string(cmd));
    if (r->is_error()) {
      return error_reply_to_result(*r).error().with_context("redis cluster " + std::string(cmd));
    }
  }
  return std::nullopt;
}

}  // namespace

ClusterClient::Task<std::vector<std::optional<std::string>>> ClusterClient::mget(
    std::span<const std::string_view> keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) co_return out;
  const auto groups = group_by_slot(keys);
  const auto args = per_group_args("MGET", groups, keys);
  auto replies = co_await run_groups(state_, groups, args, true);
  if (auto e = first_failure(replies, "MGET")) co_return *e;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& r = *replies[g];
    if (!r.is_array() || r.elements().size() != groups[g].indices.size()) {
      co_return Error(errc::protocol_error,
                      "redis cluster MGET: unexpected reply " + r.to_display());
    }
    for (std::size_t k = 0; k < groups[g].indices.size(); ++k) {
      auto& e = r.elements()[k];
      if (!e.is_nil()) out[groups[g].indices[k]] = e.take_str();
    }
  }
  co_return out;
}

ClusterClient::Task<void> ClusterClient::mset(std::span<const Field> pairs) {
  if (pairs.empty()) co_return ok();
  std::vector<std::string_view> keys;
  std::vector<std::string_view> values;
  for (const auto& [k, v] : pairs) {
    keys.push_back(k);
    values.push_back(v);
  }
  const auto groups = group_by_slot(keys);
  const auto args = per_group_args("MSET", groups, keys, values);
  auto replies = co_await run_groups(state_, groups, args, false);
  if (auto e = first_failure(replies, "MSET")) co_return *e;
  co_return ok();
}

namespace {
// DEL / EXISTS: the sum of the parts' counts.
boost::asio::awaitable<Result<long long>> count_keys(std::shared_ptr<detail::ClusterState> state,
                                                     std::string_view cmd,
                                                     std::span<const std::string_view> keys,
                                                     bool read_only) {
  if (keys.empty()) co_return 0LL;
  const auto groups = group_by_slot(keys);
  const auto args = per_group_args(cmd, groups, keys);
  auto replies = co_await run_groups(state, groups, args, read_only);
  if (auto e = first_failure(replies, cmd)) co_return *e;
  long long total = 0;
  for (auto& r : replies) {
    if (!r->is_integer()) {
      co_return Error(errc::protocol_error, "redis cluster " + std::string(cmd) +
                                                ": unexpected reply " + r->to_display());
    }
    total += r->as_integer();
  }
  co_return total;
}
}  // namespace

ClusterClient::Task<long long> ClusterClient::del(std::span<const std::string_view> keys) {
  co_return co_await count_keys(state_, "DEL", keys, false);
}

ClusterClient::Task<long long> ClusterClient::exists(std::span<const std::string_view> keys) {
  co_return co_await count_keys(state_, "EXISTS", keys, true);
}

// ---- pipelines ------------------------------------------------------------------------------

ClusterPipeline& ClusterPipeline::add(std::span<const std::string_view> args) {
  commands_.emplace_back(args.begin(), args.end());
  return *this;
}

namespace {

struct NodeBatch {
  detail::NodePtr node;
  std::vector<std::size_t> indices;  // positions in the pipeline
};

boost::asio::awaitable<Result<std::vector<Reply>>> send_batch(
    const NodeBatch& batch, const std::vector<std::vector<std::string_view>>& views) {
  auto pipeline = co_await batch.node->client.pipeline();
  if (!pipeline) co_return std::move(pipeline).error();
  for (const auto i : batch.indices) pipeline->add(std::span<const std::string_view>(views[i]));
  co_return co_await pipeline->exec();
}

// As send_batch, with the node's replies bounded by `max_bytes` (batch_within.hpp).
boost::asio::awaitable<Result<std::vector<Reply>>> send_batch_within(
    const NodeBatch& batch, const std::vector<std::vector<std::string_view>>& views,
    std::size_t max_bytes) {
  auto lease = co_await batch.node->client.pool().acquire();
  if (!lease) co_return std::move(lease).error();
  RequestBatch requests;
  for (const auto i : batch.indices) requests.add(std::span<const std::string_view>(views[i]));
  auto replies = co_await redis::detail::execute_within(**lease, requests, std::nullopt, max_bytes);
  if (!replies && redis::detail::breaks_connection(replies.error())) lease->discard();
  if (!replies) co_return std::move(replies).error();
  co_return std::move(replies->replies);
}

// The bytes a reply's payload takes (a lower bound of its wire size): what a re-sent command's
// reply counts against a pipeline's bound.
std::size_t payload_bytes(const Reply& reply) {
  std::size_t n = reply.str().size();
  for (const auto& e : reply.elements()) n += payload_bytes(e);
  return n;
}

constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);

Error over_limit(std::size_t max_bytes) {
  return Error(errc::resource_exhausted,
               "redis cluster pipeline: replies exceed " + std::to_string(max_bytes) + " bytes");
}

}  // namespace

boost::asio::awaitable<Result<std::vector<Reply>>> ClusterPipeline::exec() {
  co_return co_await exec(kNoLimit);
}

boost::asio::awaitable<Result<std::vector<Reply>>> ClusterPipeline::exec(std::size_t max_bytes) {
  auto commands = std::move(commands_);
  commands_.clear();
  std::vector<Reply> out(commands.size());
  if (commands.empty()) co_return out;
  std::vector<std::vector<std::string_view>> views;
  std::vector<std::optional<std::uint16_t>> slots;
  views.reserve(commands.size());
  for (const auto& c : commands) {
    views.emplace_back(c.begin(), c.end());
    if (views.back().empty())
      co_return Error(errc::invalid_argument, "redis cluster pipeline: empty command");
    const auto route = detail::route_of(views.back());
    slots.push_back(route.key ? std::optional<std::uint16_t>(hash_slot(*route.key)) : std::nullopt);
  }

  // Group by the node the current map names (the primary: pipelines do not use read_from).
  std::vector<NodeBatch> batches;
  std::vector<std::size_t> resend;  // commands to route one by one
  auto& state = client_.state_;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto node = co_await state->pick(slots[i], false);
    if (!node) {
      resend.push_back(i);
      continue;
    }
    auto it = std::find_if(batches.begin(), batches.end(),
                           [&](const NodeBatch& b) { return b.node == *node; });
    if (it == batches.end()) {
      batches.push_back(NodeBatch{*node, {}});
      it = std::prev(batches.end());
    }
    it->indices.push_back(i);
  }

  std::vector<boost::asio::awaitable<Result<std::vector<Reply>>>> ops;
  ops.reserve(batches.size());
  for (const auto& b : batches) {
    ops.push_back(max_bytes == kNoLimit ? send_batch(b, views)
                                        : send_batch_within(b, views, max_bytes));
  }
  auto results = co_await detail::run_all(std::move(ops));
  std::size_t held = 0;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    auto& result = results[b];
    const auto& indices = batches[b].indices;
    if (!result && result.error().is(errc::resource_exhausted)) co_return over_limit(max_bytes);
    if (!result) {
      if (!detail::not_sent(result.error())) {
        state->note_node_failure();
        co_return std::move(result).error().with_context("redis cluster pipeline on " +
                                                         batches[b].node->address.text());
      }
      resend.insert(resend.end(), indices.begin(), indices.end());
      continue;
    }
    if (max_bytes != kNoLimit) {
      for (const auto& reply : *result) held += payload_bytes(reply);
      if (held > max_bytes) co_return over_limit(max_bytes);
    }
    for (std::size_t k = 0; k < indices.size(); ++k) {
      Reply& reply = (*result)[k];
      if (detail::is_routing_reply(reply)) {
        resend.push_back(indices[k]);
      } else {
        out[indices[k]] = std::move(reply);
      }
    }
  }
  // Redirected or unsent commands: through the full routing (MOVED/ASK/retries), in order.
  std::sort(resend.begin(), resend.end());
  for (const auto i : resend) {
    auto reply = co_await detail::execute(state, views[i], slots[i], false);
    if (!reply) co_return std::move(reply).error().with_context("redis cluster pipeline");
    held += payload_bytes(*reply);
    if (max_bytes != kNoLimit && held > max_bytes) co_return over_limit(max_bytes);
    out[i] = std::move(*reply);
  }
  co_return out;
}

}  // namespace connpool::redis::cluster
