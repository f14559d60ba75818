// Sending one command to the right node: MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY and
// unsent failures, each bounded (max_redirects / max_retries).
#include "connpool/core/retry.hpp"

#include "cluster_state.hpp"
#include "redirect.hpp"

#include <algorithm>
#include <charconv>

namespace connpool::redis::cluster::detail {

namespace {

enum class Kind { none, moved, ask, tryagain, clusterdown, readonly };

struct Redirect : RedirectTarget {
  Kind kind = Kind::none;
};

}  // namespace

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; an empty host means the host of the
// node that answered (cluster-preferred-endpoint-type unknown-endpoint).
bool parse_redirect(std::string_view text, const NodeAddress& from, RedirectTarget& out) {
  const auto sp1 = text.find(' ');
  const auto sp2 = text.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return false;
  const std::string_view slot = text.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view endpoint = text.substr(sp2 + 1);
  const auto colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return false;
  unsigned slot_value = 0;
  unsigned port = 0;
  const std::string_view port_text = endpoint.substr(colon + 1);
  if (std::from_chars(slot.data(), slot.data() + slot.size(), slot_value).ec != std::errc() ||
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port).ec !=
          std::errc() ||
      slot_value >= kSlotCount || port == 0 || port > 65535) {
    return false;
  }
  std::string_view host = endpoint.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.slot = static_cast<std::uint16_t>(slot_value);
  out.target.host = host.empty() ? from.host : std::string(host);
  out.target.port = static_cast<std::uint16_t>(port);
  return true;
}

namespace {

Redirect classify(const Reply& reply, const NodeAddress& from) {
  Redirect r;
  if (!reply.is_error()) return r;
  const std::string_view text = reply.str();
  if (text.starts_with("MOVED ")) {
    if (parse_redirect(text, from, r)) r.kind = Kind::moved;
  } else if (text.starts_with("ASK ")) {
    if (parse_redirect(text, from, r)) r.kind = Kind::ask;
  } else if (text.starts_with("TRYAGAIN")) {
    r.kind = Kind::tryagain;
  } else if (text.starts_with("CLUSTERDOWN")) {
    r.kind = Kind::clusterdown;
  } else if (text.starts_with("READONLY")) {
    // A write reached a node that became a replica (failover): the map is stale.
    r.kind = Kind::readonly;
  }
  return r;
}

// TRYAGAIN / CLUSTERDOWN / unreachable-node waits: the project's one retry budget, max_retries
// retries with the one Backoff, starting at url.retry_backoff, doubling, capped at 1 s. No
// jitter: max_retries is documented as a window (8 retries from 25 ms cover about 3.6 s, enough
// for a failover); with jitter the same count would cover as little as half of it.
core::RetryBudget make_budget(const ClusterUrl& url) {
  core::BackoffPolicy policy;
  policy.initial =
      std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds(1), url.retry_backoff);
  policy.max = std::max<std::chrono::nanoseconds>(policy.initial, std::chrono::milliseconds(1000));
  policy.multiplier = 2.0;
  policy.jitter = 0.0;
  core::RetryLimits limits;
  limits.max_attempts = static_cast<std::size_t>(url.max_retries) + 1;
  return core::RetryBudget(core::Backoff(policy), limits);
}

/// The wait before the next retry, counted in the cluster's stats; nullopt when spent.
std::optional<std::chrono::nanoseconds> next_retry(core::RetryBudget& budget, ClusterState& state) {
  auto wait = budget.next_wait(std::chrono::steady_clock::now());
  if (wait) ++state.retries;
  return wait;
}

// ASKING and the command in one write on an exclusive lease: the one-shot ASKING flag then
// belongs to exactly this command.
asio::awaitable<Result<Reply>> send_asking(Node& node, std::span<const std::string_view> args) {
  auto lease = co_await node.client.lease();
  if (!lease) co_return std::move(lease).error();
  RequestBatch batch;
  const std::array<std::string_view, 1> asking{"ASKING"};
  batch.add(asking);
  batch.add(args);
  auto replies = co_await (*lease)->execute(batch);
  if (!replies) {
    if (!replies.error().is(errc::cancelled)) lease->discard();
    co_return std::move(replies).error();
  }
  co_return std::move((*replies)[1]);
}

Error too_many(std::span<const std::string_view> args, std::size_t limit, const Reply& last) {
  return Error(errc::too_many_redirects, "redis cluster " + std::string(args[0]) + ": more than " +
                                             std::to_string(limit) +
                                             " redirects (last: " + last.str() + ")");
}

}  // namespace

bool not_sent(const Error& e) noexcept {
  return e.is(errc::connect_failed) || e.is(errc::connect_timeout) || e.is(errc::circuit_open) ||
         e.is(errc::pool_closed) || e.is(errc::unavailable);
}

bool is_routing_reply(const Reply& reply) noexcept {
  return reply.is_error() && classify(reply, NodeAddress{}).kind != Kind::none;
}

asio::awaitable<Result<Reply>> execute(std::shared_ptr<ClusterState> state,
                                       std::span<const std::string_view> args,
                                       std::optional<std::uint16_t> slot, bool read_only) {
  if (args.empty()) co_return Error(errc::invalid_argument, "redis cluster: empty command");
  const ClusterUrl& url = state->url;
  std::size_t redirects = 0;
  core::RetryBudget budget = make_budget(url);
  NodePtr target;
  bool asking = false;
  for (;;) {
    if (!target) {
      auto picked = co_await state->pick(slot, read_only);
      if (!picked) {
        std::optional<std::chrono::nanoseconds> wait;
        if (not_sent(picked.error())) wait = next_retry(budget, *state);
        if (wait) {
          state->note_node_failure();
          co_await core::sleep_for(*wait);
          continue;
        }
        co_return std::move(picked).error().with_context("redis cluster " + std::string(args[0]));
      }
      target = std::move(*picked);
    }
    const NodePtr node = std::exchange(target, nullptr);
    Result<Reply> reply;
    if (asking) {
      reply = co_await send_asking(*node, args);
    } else {
      reply = co_await node->client.command(args);
    }
    asking = false;
    if (!reply) {
      const Error& e = reply.error();
      std::optional<std::chrono::nanoseconds> wait;
      if (not_sent(e)) wait = next_retry(budget, *state);
      if (wait) {
        // The node is unreachable (down, failing over, removed): refresh and go again, to the
        // primary, whose shard is the one that must answer.
        read_only = false;
        state->note_node_failure();
        co_await core::sleep_for(*wait);
        continue;
      }
      if (e.is(errc::io_error) || e.is(errc::timeout) || e.is(errc::acquire_timeout)) {
        state->note_node_failure();
      }
      co_return std::move(reply).error().with_context("redis cluster node " + node->address.text());
    }
    const Redirect redirect = classify(*reply, node->address);
    switch (redirect.kind) {
      case Kind::none:
        co_return reply;
      case Kind::moved:
      case Kind::ask: {
        if (++redirects > url.max_redirects) co_return too_many(args, url.max_redirects, *reply);
        auto next = state->node_for(redirect.target);
        if (!next) co_return std::move(next).error();
        if (redirect.kind == Kind::moved) {
          ++state->moved;
          state->apply_moved(redirect.slot, *next);
          state->request_refresh();
        } else {
          ++state->ask;
          asking = true;
        }
        target = std::move(*next);
        continue;
      }
      case Kind::tryagain:
      case Kind::clusterdown:
      case Kind::readonly: {
        const auto wait = next_retry(budget, *state);
        if (!wait) co_return reply;
        if (redirect.kind != Kind::tryagain) {
          read_only = false;
          state->request_refresh();
        }
        co_await core::sleep_for(*wait);
        continue;
      }
    }
  }
}

}  // namespace connpool::redis::cluster::detail
