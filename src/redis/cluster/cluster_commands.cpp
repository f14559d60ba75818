// The typed single-key commands of ClusterClient: build the arguments, route them, convert
// the reply (the same conversions as redis::Client).
#include "connpool/redis/cluster/cluster_client.hpp"

#include "../reply_convert.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <set>

namespace connpool::redis::cluster {

namespace {

using redis::detail::format_double;
using redis::detail::to_double;
using redis::detail::to_integer;
using redis::detail::to_opt_string;
using redis::detail::to_strings;
using redis::detail::unexpected;
using redis::detail::with_key;

}  // namespace

ClusterClient::Task<std::optional<std::string>> ClusterClient::get(std::string_view key) {
  const std::array<std::string_view, 2> args{"GET", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_opt_string(std::move(*r), "GET");
}

ClusterClient::Task<bool> ClusterClient::set(std::string_view key, std::string_view value,
                                             SetOptions o) {
  std::vector<std::string_view> args{"SET", key, value};
  const std::string ex = std::to_string(o.ex.count());
  const std::string px = std::to_string(o.px.count());
  if (o.ex.count() > 0) {
    args.push_back("EX");
    args.push_back(ex);
  }
  if (o.px.count() > 0) {
    args.push_back("PX");
    args.push_back(px);
  }
  if (o.condition == SetOptions::Condition::if_not_exists) args.push_back("NX");
  if (o.condition == SetOptions::Condition::if_exists) args.push_back("XX");
  if (o.keep_ttl) args.push_back("KEEPTTL");
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  if (r->is_nil()) co_return false;
  if (r->is_status()) co_return true;
  co_return unexpected("SET", *r);
}

ClusterClient::Task<long long> ClusterClient::del(std::string_view key) {
  const std::array<std::string_view, 1> keys{key};
  co_return co_await del(std::span<const std::string_view>(keys));
}

ClusterClient::Task<long long> ClusterClient::exists(std::string_view key) {
  const std::array<std::string_view, 1> keys{key};
  co_return co_await exists(std::span<const std::string_view>(keys));
}

ClusterClient::Task<bool> ClusterClient::expire(std::string_view key, std::chrono::seconds ttl) {
  const std::string secs = std::to_string(ttl.count());
  const std::array<std::string_view, 3> args{"EXPIRE", key, secs};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  auto n = to_integer(*r, "EXPIRE");
  if (!n) co_return std::move(n).error();
  co_return *n == 1;
}

ClusterClient::Task<long long> ClusterClient::ttl(std::string_view key) {
  const std::array<std::string_view, 2> args{"TTL", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "TTL");
}

ClusterClient::Task<long long> ClusterClient::incr(std::string_view key) {
  const std::array<std::string_view, 2> args{"INCR", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "INCR");
}

ClusterClient::Task<long long> ClusterClient::incrby(std::string_view key, long long delta) {
  const std::string d = std::to_string(delta);
  const std::array<std::string_view, 3> args{"INCRBY", key, d};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "INCRBY");
}

ClusterClient::Task<std::optional<std::string>> ClusterClient::hget(std::string_view key,
                                                                    std::string_view field) {
  const std::array<std::string_view, 3> args{"HGET", key, field};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_opt_string(std::move(*r), "HGET");
}

ClusterClient::Task<long long> ClusterClient::hset(std::string_view key, std::string_view field,
                                                   std::string_view value) {
  const std::array<Field, 1> fields{Field{field, value}};
  co_return co_await hset(key, std::span<const Field>(fields));
}

ClusterClient::Task<long long> ClusterClient::hset(std::string_view key,
                                                   std::span<const Field> fields) {
  std::vector<std::string_view> args{"HSET", key};
  for (const auto& [f, v] : fields) {
    args.push_back(f);
    args.push_back(v);
  }
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "HSET");
}

ClusterClient::Task<std::vector<std::pair<std::string, std::string>>> ClusterClient::hgetall(
    std::string_view key) {
  const std::array<std::string_view, 2> args{"HGETALL", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  auto flat = to_strings(std::move(*r), "HGETALL");
  if (!flat) co_return std::move(flat).error();
  if (flat->size() % 2 != 0) {
    co_return Error(errc::protocol_error, "redis cluster HGETALL: odd number of elements");
  }
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(flat->size() / 2);
  for (std::size_t i = 0; i < flat->size(); i += 2) {
    out.emplace_back(std::move((*flat)[i]), std::move((*flat)[i + 1]));
  }
  co_return out;
}

ClusterClient::Task<long long> ClusterClient::lpush(std::string_view key,
                                                    std::span<const std::string_view> values) {
  const auto args = with_key("LPUSH", key, values);
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "LPUSH");
}

ClusterClient::Task<long long> ClusterClient::rpush(std::string_view key,
                                                    std::span<const std::string_view> values) {
  const auto args = with_key("RPUSH", key, values);
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "RPUSH");
}

ClusterClient::Task<std::vector<std::string>> ClusterClient::lrange(std::string_view key,
                                                                    long long start,
                                                                    long long stop) {
  const std::string a = std::to_string(start);
  const std::string b = std::to_string(stop);
  const std::array<std::string_view, 4> args{"LRANGE", key, a, b};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_strings(std::move(*r), "LRANGE");
}

ClusterClient::Task<long long> ClusterClient::sadd(std::string_view key,
                                                   std::span<const std::string_view> members) {
  const auto args = with_key("SADD", key, members);
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "SADD");
}

ClusterClient::Task<std::vector<std::string>> ClusterClient::smembers(std::string_view key) {
  const std::array<std::string_view, 2> args{"SMEMBERS", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_strings(std::move(*r), "SMEMBERS");
}

ClusterClient::Task<long long> ClusterClient::zadd(std::string_view key,
                                                   std::span<const ScoredMember> members) {
  std::vector<std::string> scores;
  scores.reserve(members.size());
  for (const auto& m : members) scores.push_back(format_double(m.score));
  std::vector<std::string_view> args{"ZADD", key};
  for (std::size_t i = 0; i < members.size(); ++i) {
    args.push_back(scores[i]);
    args.push_back(members[i].member);
  }
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(*r, "ZADD");
}

ClusterClient::Task<std::vector<std::string>> ClusterClient::zrange(std::string_view key,
                                                                    long long start,
                                                                    long long stop) {
  const std::string a = std::to_string(start);
  const std::string b = std::to_string(stop);
  const std::array<std::string_view, 4> args{"ZRANGE", key, a, b};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_strings(std::move(*r), "ZRANGE");
}

ClusterClient::Task<Reply> ClusterClient::eval(std::string_view script,
                                               std::span<const std::string_view> keys,
                                               std::span<const std::string_view> extra) {
  std::set<std::uint16_t> slots;
  for (const auto key : keys) slots.insert(hash_slot(key));
  if (slots.size() > 1) {
    std::string listing;
    for (const auto key : keys) {
      if (!listing.empty()) listing += ", ";
      listing += "'" + std::string(key) + "' -> " + std::to_string(hash_slot(key));
    }
    co_return Error(errc::cross_slot, "redis cluster EVAL: keys span " +
                                          std::to_string(slots.size()) + " hash slots (" + listing +
                                          "); use a {hash tag}");
  }
  const std::string numkeys = std::to_string(keys.size());
  std::vector<std::string_view> args{"EVAL", script, numkeys};
  args.insert(args.end(), keys.begin(), keys.end());
  args.insert(args.end(), extra.begin(), extra.end());
  co_return co_await run(args);
}

}  // namespace connpool::redis::cluster
