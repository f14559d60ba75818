// TypedCommands: the typed commands whose arguments and reply conversion do not depend on where
// a command goes, written once for redis::Client and cluster::ClusterClient (each of which only
// decides where `run(args)` sends a command). Internal to connpool::redis.
//
// Each function is a coroutine holding `client` by reference, exactly as the member coroutine
// it replaces held `this`: the client handle must outlive the awaitable (true whenever it is
// co_awaited at once). string_view / span arguments likewise.
#pragma once

#include "connpool/redis/reply.hpp"

#include "reply_convert.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::redis::detail {

struct TypedCommands {
  template <class T>
  using Task = boost::asio::awaitable<Result<T>>;
  using Field = std::pair<std::string_view, std::string_view>;

  // ---- strings and keys ----------------------------------------------------------------------
  template <class C>
  static Task<std::optional<std::string>> get(C& client, std::string_view key) {
    const std::array<std::string_view, 2> args{"GET", key};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_opt_string(std::move(*r), "GET");
  }

  template <class C>
  static Task<bool> expire(C& client, std::string_view key, std::chrono::seconds ttl) {
    const std::string seconds = std::to_string(ttl.count());
    const std::array<std::string_view, 3> args{"EXPIRE", key, seconds};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    auto n = to_integer(*r, "EXPIRE");
    if (!n) co_return std::move(n).error();
    co_return *n == 1;
  }

  /// TTL, INCR, SMEMBERS...: one key, nothing else.
  template <class C>
  static Task<long long> integer_of_key(C& client, std::string_view command, std::string_view key) {
    const std::array<std::string_view, 2> args{command, key};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_integer(*r, command);
  }

  template <class C>
  static Task<long long> incrby(C& client, std::string_view key, long long delta) {
    const std::string d = std::to_string(delta);
    const std::array<std::string_view, 3> args{"INCRBY", key, d};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_integer(*r, "INCRBY");
  }

  // ---- hashes ------------------------------------------------------------------------------
  template <class C>
  static Task<std::optional<std::string>> hget(C& client, std::string_view key,
                                               std::string_view field) {
    const std::array<std::string_view, 3> args{"HGET", key, field};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_opt_string(std::move(*r), "HGET");
  }

  template <class C>
  static Task<long long> hset(C& client, std::string_view key, std::span<const Field> fields) {
    std::vector<std::string_view> args{"HSET", key};
    for (const auto& [f, v] : fields) {
      args.push_back(f);
      args.push_back(v);
    }
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_integer(*r, "HSET");
  }

  template <class C>
  static Task<std::vector<std::pair<std::string, std::string>>> hgetall(C& client,
                                                                        std::string_view key) {
    const std::array<std::string_view, 2> args{"HGETALL", key};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    auto flat = to_strings(std::move(*r), "HGETALL");
    if (!flat) co_return std::move(flat).error();
    if (flat->size() % 2 != 0) {
      co_return Error(errc::protocol_error, "HGETALL: odd number of elements in the reply");
    }
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(flat->size() / 2);
    for (std::size_t i = 0; i < flat->size(); i += 2) {
      out.emplace_back(std::move((*flat)[i]), std::move((*flat)[i + 1]));
    }
    co_return out;
  }

  // ---- lists, sets, sorted sets ----------------------------------------------------------------
  /// LPUSH, RPUSH, SADD: a key and values, the new count back.
  template <class C>
  static Task<long long> push(C& client, std::string_view command, std::string_view key,
                              std::span<const std::string_view> values) {
    const auto args = with_key(command, key, values);
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_integer(*r, command);
  }

  /// LRANGE, ZRANGE: a key and an index range, a list of strings back.
  template <class C>
  static Task<std::vector<std::string>> range(C& client, std::string_view command,
                                              std::string_view key, long long start,
                                              long long stop) {
    const std::string a = std::to_string(start);
    const std::string b = std::to_string(stop);
    const std::array<std::string_view, 4> args{command, key, a, b};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_strings(std::move(*r), command);
  }

  template <class C>
  static Task<std::vector<std::string>> smembers(C& client, std::string_view key) {
    const std::array<std::string_view, 2> args{"SMEMBERS", key};
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_strings(std::move(*r), "SMEMBERS");
  }

  template <class C, class Scored>
  static Task<long long> zadd(C& client, std::string_view key, std::span<const Scored> members) {
    std::vector<std::string> scores;
    scores.reserve(members.size());
    for (const auto& m : members) scores.push_back(format_double(m.score));
    std::vector<std::string_view> args{"ZADD", key};
    for (std::size_t i = 0; i < members.size(); ++i) {
      args.push_back(scores[i]);
      args.push_back(members[i].member);
    }
    auto r = co_await client.run(args);
    if (!r) co_return std::move(r).error();
    co_return to_integer(*r, "ZADD");
  }
};

}  // namespace connpool::redis::detail
