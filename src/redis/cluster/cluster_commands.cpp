// The typed single-key commands of ClusterClient: most are redis::detail::TypedCommands, shared
// with redis::Client, over ClusterClient::run (which routes by the key's slot).
#include "connpool/redis/cluster/cluster_client.hpp"

#include "../reply_convert.hpp"
#include "../typed_commands.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <set>

namespace connpool::redis::cluster {

namespace {

using redis::detail::unexpected;

}  // namespace

ClusterClient::Task<std::optional<std::string>> ClusterClient::get(std::string_view key) {
  return redis::detail::TypedCommands::get(*this, key);
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
  return redis::detail::TypedCommands::expire(*this, key, ttl);
}

ClusterClient::Task<long long> ClusterClient::ttl(std::string_view key) {
  return redis::detail::TypedCommands::integer_of_key(*this, "TTL", key);
}

ClusterClient::Task<long long> ClusterClient::incr(std::string_view key) {
  return redis::detail::TypedCommands::integer_of_key(*this, "INCR", key);
}

ClusterClient::Task<long long> ClusterClient::incrby(std::string_view key, long long delta) {
  return redis::detail::TypedCommands::incrby(*this, key, delta);
}

ClusterClient::Task<std::optional<std::string>> ClusterClient::hget(std::string_view key,
                                                                    std::string_view field) {
  return redis::detail::TypedCommands::hget(*this, key, field);
}

ClusterClient::Task<long long> ClusterClient::hset(std::string_view key, std::string_view field,
                                                   std::string_view value) {
  const std::array<Field, 1> fields{Field{field, value}};
  co_return co_await hset(key, std::span<const Field>(fields));
}

ClusterClient::Task<long long> ClusterClient::hset(std::string_view key,
                                                   std::span<const Field> fields) {
  return redis::detail::TypedCommands::hset(*this, key, fields);
}

ClusterClient::Task<std::vector<std::pair<std::string, std::string>>> ClusterClient::hgetall(
    std::string_view key) {
  return redis::detail::TypedCommands::hgetall(*this, key);
}

ClusterClient::Task<long long> ClusterClient::lpush(std::string_view key,
                                                    std::span<const std::string_view> values) {
  return redis::detail::TypedCommands::push(*this, "LPUSH", key, values);
}

ClusterClient::Task<long long> ClusterClient::rpush(std::string_view key,
                                                    std::span<const std::string_view> values) {
  return redis::detail::TypedCommands::push(*this, "RPUSH", key, values);
}

ClusterClient::Task<std::vector<std::string>> ClusterClient::lrange(std::string_view key,
                                                                    long long start,
                                                                    long long stop) {
  return redis::detail::TypedCommands::range(*this, "LRANGE", key, start, stop);
}

ClusterClient::Task<long long> ClusterClient::sadd(std::string_view key,
                                                   std::span<const std::string_view> members) {
  return redis::detail::TypedCommands::push(*this, "SADD", key, members);
}

ClusterClient::Task<std::vector<std::string>> ClusterClient::smembers(std::string_view key) {
  return redis::detail::TypedCommands::smembers(*this, key);
}

ClusterClient::Task<long long> ClusterClient::zadd(std::string_view key,
                                                   std::span<const ScoredMember> members) {
  return redis::detail::TypedCommands::zadd(*this, key, members);
}

ClusterClient::Task<std::vector<std::string>> ClusterClient::zrange(std::string_view key,
                                                                    long long start,
                                                                    long long stop) {
  return redis::detail::TypedCommands::range(*this, "ZRANGE", key, start, stop);
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
