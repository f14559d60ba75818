// ClusterClient construction, introspection, the generic entry points and transactions.
#include "connpool/redis/cluster/cluster_client.hpp"

#include "cluster_state.hpp"
#include "command_keys.hpp"

#include <array>
#include <set>

namespace connpool::redis::cluster {

namespace asio = boost::asio;

Result<ClusterClient> ClusterClient::create(asio::any_io_executor executor, std::string_view url,
                                            core::PoolOptions options, NodeHooks hooks) {
  auto parsed = ClusterUrl::parse(url);
  if (!parsed) return std::move(parsed).error();
  return create(std::move(executor), std::move(*parsed), std::move(options), std::move(hooks));
}

Result<ClusterClient> ClusterClient::create(asio::any_io_executor executor, ClusterUrl url,
                                            core::PoolOptions options, NodeHooks hooks) {
  if (url.seeds.empty()) {
    return Error(errc::invalid_argument, "redis cluster: at least one seed node is needed");
  }
  if (options.name.empty() || options.name == "default") options.name = "redis-cluster";
  // Replica connections need READONLY to serve reads; it is harmless on a primary, and a
  // node's role changes on failover, so every node connection sends it when reads may go to
  // replicas.
  if (url.read_from != ReadFrom::primary) url.node.readonly = true;
  auto state = std::make_shared<detail::ClusterState>(executor, std::move(url), std::move(options),
                                                      std::move(hooks));
  state->start_refresh_loop();
  return ClusterClient(std::move(state));
}

ClusterClient::Task<void> ClusterClient::refresh() {
  co_return co_await state_->refresh_now();
}

const ClusterUrl& ClusterClient::url() const noexcept {
  return state_->url;
}

asio::any_io_executor ClusterClient::executor() const {
  return state_->executor;
}

void ClusterClient::close_now() noexcept {
  state_->close();
}

ClusterStats ClusterClient::stats() const noexcept {
  ClusterStats s;
  s.moved = state_->moved.load();
  s.ask = state_->ask.load();
  s.retries = state_->retries.load();
  s.refreshes = state_->refreshes.load();
  s.refresh_failures = state_->refresh_failures.load();
  return s;
}

std::vector<NodeInfo> ClusterClient::nodes() const {
  std::vector<NodeInfo> out;
  auto map = state_->current_map();
  if (!map) return out;
  auto info = [](const detail::NodePtr& n, NodeRole role) {
    return NodeInfo{n->address, role, n->client, std::chrono::microseconds(n->rtt_us.load())};
  };
  for (const auto& s : map->shards) out.push_back(info(s.primary, NodeRole::primary));
  for (const auto& s : map->shards) {
    for (const auto& r : s.replicas) out.push_back(info(r, NodeRole::replica));
  }
  return out;
}

std::optional<NodeAddress> ClusterClient::primary_for_slot(std::uint16_t slot) const {
  auto map = state_->current_map();
  if (!map || slot >= kSlotCount || map->owner[slot] == detail::kNoShard) return std::nullopt;
  return map->shards[map->owner[slot]].primary->address;
}

ClusterClient::Task<Reply> ClusterClient::command(std::span<const std::string_view> args) {
  const auto route = detail::route_of(args);
  std::optional<std::uint16_t> slot;
  if (route.key) slot = hash_slot(*route.key);
  co_return co_await detail::execute(state_, args, slot, route.read_only);
}

ClusterClient::Task<Reply> ClusterClient::command(std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  co_return co_await command(std::span<const std::string_view>(views));
}

ClusterClient::Task<Reply> ClusterClient::run(std::span<const std::string_view> args) {
  auto reply = co_await command(args);
  if (!reply) co_return reply;
  if (reply->is_error()) {
    co_return error_reply_to_result(std::move(*reply))
        .error()
        .with_context("redis cluster " + std::string(args[0]));
  }
  co_return reply;
}

ClusterClient::Task<void> ClusterClient::ping() {
  if (!state_->current_map()) {
    auto loaded = co_await state_->refresh_now();
    if (!loaded) co_return loaded;
  }
  auto map = state_->current_map();
  if (!map) co_return Error(errc::pool_closed, "redis cluster client is closed");
  const std::array<std::string_view, 1> args{"PING"};
  for (const auto& shard : map->shards) {
    auto reply = co_await shard.primary->client.command(args);
    if (!reply) {
      co_return std::move(reply).error().with_context("redis cluster PING " +
                                                      shard.primary->address.text());
    }
    if (reply->is_error()) {
      co_return Error(errc::server_error,
                      "redis cluster PING " + shard.primary->address.text() + ": " + reply->str());
    }
  }
  co_return ok();
}

ClusterClient::Task<Transaction> ClusterClient::transaction(
    std::span<const std::string_view> keys, std::span<const std::string_view> watch_keys) {
  std::set<std::uint16_t> slots;
  std::string listing;
  const std::array<std::span<const std::string_view>, 2> groups{keys, watch_keys};
  for (const auto group : groups) {
    for (const auto key : group) {
      const auto slot = hash_slot(key);
      slots.insert(slot);
      if (!listing.empty()) listing += ", ";
      listing += "'" + std::string(key) + "' -> " + std::to_string(slot);
    }
  }
  if (slots.empty()) {
    co_return Error(errc::invalid_argument,
                    "redis cluster transaction: name the keys it touches (they pick the node)");
  }
  if (slots.size() > 1) {
    co_return Error(errc::cross_slot, "redis cluster transaction: keys span " +
                                          std::to_string(slots.size()) + " hash slots (" + listing +
                                          "); a transaction runs on one node: use a {hash tag}");
  }
  const std::optional<std::uint16_t> slot = *slots.begin();
  std::size_t retries = 0;
  for (;;) {
    auto node = co_await state_->pick(slot, false);
    if (!node) co_return std::move(node).error().with_context("redis cluster transaction");
    auto tx = co_await (*node)->client.transaction(watch_keys);
    if (tx || !detail::not_sent(tx.error()) || retries >= state_->url.max_retries) co_return tx;
    ++retries;
    state_->request_refresh();
    auto loaded = co_await state_->refresh_now();
    (void)loaded;
  }
}

ClusterPipeline ClusterClient::pipeline() const {
  return ClusterPipeline(*this);
}

}  // namespace connpool::redis::cluster
