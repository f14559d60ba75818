// The typed commands of Client: build the arguments, run them, convert the reply (those shared
// with cluster::ClusterClient are detail::TypedCommands). Each converter rejects unexpected reply
// types with errc::protocol_error naming the command.
#include "connpool/redis/client.hpp"

#include "client_exec.hpp"
#include "client_state.hpp"
#include "reply_convert.hpp"
#include "typed_commands.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <span>
#include <string>

namespace connpool::redis {

namespace {

using detail::format_double;
using detail::to_double;
using detail::to_integer;
using detail::to_opt_string;
using detail::to_strings;
using detail::unexpected;
using detail::with_key;

std::vector<std::string_view> script_args(std::string_view cmd, std::string_view script,
                                          const std::string& numkeys,
                                          std::span<const std::string_view> keys,
                                          std::span<const std::string_view> extra) {
  std::vector<std::string_view> args{cmd, script, numkeys};
  args.insert(args.end(), keys.begin(), keys.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

Client::Task<void> Client::ping() {
  const std::array<std::string_view, 1> args{"PING"};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  if (!r->is_status()) co_return unexpected("PING", *r);
  co_return ok();
}

namespace {
// run()'s checks (detail::checked_reply) without moving a good reply through them.
bool failed(const Result<Reply>& reply) {
  return !reply || reply->is_error();
}

Result<std::optional<std::string>> finish_get(Result<Reply> reply, std::string_view command) {
  if (failed(reply)) return detail::checked_reply(std::move(reply), command).error();
  return to_opt_string(std::move(*reply), command);
}
}  // namespace

// GET, SET and SET ... GET are exec() itself (one frame per command), their arguments and
// conversion carried into its frame; the same conversions as TypedCommands' for the cluster.
Client::Task<std::optional<std::string>> Client::get(std::string_view key) {
  return exec<std::optional<std::string>>(std::array<std::string_view, 2>{"GET", key}, &finish_get);
}

namespace {
// At most SET key value EX s PX ms NX|XX KEEPTTL GET: a fixed array, so a SET allocates
// nothing for its argument list. Moved into exec()'s frame with the text of EX's and PX's
// numbers, which view() points their items at once it is there.
struct SetArgs {
  std::array<std::string_view, 10> items;  // the first `size` are set
  std::size_t size = 0;
  struct Number {
    std::array<char, 24> text;  // the first `length` are set
    std::size_t length = 0;
    std::size_t item = 0;  // its index in items; 0: not used
  };
  Number ex;
  Number px;

  void push(std::string_view arg) { items[size++] = arg; }
  void push_number(Number& n, long long value) {
    n.length = static_cast<std::size_t>(
        std::to_chars(n.text.data(), n.text.data() + n.text.size(), value).ptr - n.text.data());
    n.item = size;
    push({});
  }
  [[nodiscard]] std::span<const std::string_view> view() {
    for (const Number* n : {&ex, &px}) {
      if (n->item != 0) items[n->item] = std::string_view(n->text.data(), n->length);
    }
    return {items.data(), size};
  }
};

SetArgs set_args(std::string_view key, std::string_view value, const SetOptions& o, bool get) {
  SetArgs args;
  args.push("SET");
  args.push(key);
  args.push(value);
  if (o.ex.count() > 0) {
    args.push("EX");
    args.push_number(args.ex, o.ex.count());
  }
  if (o.px.count() > 0) {
    args.push("PX");
    args.push_number(args.px, o.px.count());
  }
  if (o.condition == SetOptions::Condition::if_not_exists) args.push("NX");
  if (o.condition == SetOptions::Condition::if_exists) args.push("XX");
  if (o.keep_ttl) args.push("KEEPTTL");
  if (get) args.push("GET");
  return args;
}

Result<bool> finish_set(Result<Reply> reply, std::string_view command) {
  if (failed(reply)) return detail::checked_reply(std::move(reply), command).error();
  if (reply->is_nil()) return false;
  if (reply->is_status()) return true;
  return unexpected("SET", *reply);
}
}  // namespace

Client::Task<bool> Client::set(std::string_view key, std::string_view value, SetOptions options) {
  return exec<bool>(set_args(key, value, options, false), &finish_set);
}

Client::Task<std::optional<std::string>> Client::set_get(std::string_view key,
                                                         std::string_view value,
                                                         SetOptions options) {
  return exec<std::optional<std::string>>(set_args(key, value, options, true), &finish_get);
}

Client::Task<long long> Client::del(std::string_view key) {
  const std::array<std::string_view, 1> keys{key};
  co_return co_await del(std::span<const std::string_view>(keys));
}

Client::Task<long long> Client::del(std::span<const std::string_view> keys) {
  std::vector<std::string_view> args{"DEL"};
  args.insert(args.end(), keys.begin(), keys.end());
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(std::move(*r), "DEL");
}

Client::Task<long long> Client::exists(std::string_view key) {
  const std::array<std::string_view, 1> keys{key};
  co_return co_await exists(std::span<const std::string_view>(keys));
}

Client::Task<long long> Client::exists(std::span<const std::string_view> keys) {
  std::vector<std::string_view> args{"EXISTS"};
  args.insert(args.end(), keys.begin(), keys.end());
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(std::move(*r), "EXISTS");
}

Client::Task<bool> Client::expire(std::string_view key, std::chrono::seconds ttl) {
  return detail::TypedCommands::expire(*this, key, ttl);
}

Client::Task<bool> Client::pexpire(std::string_view key, std::chrono::milliseconds ttl) {
  const std::string t = std::to_string(ttl.count());
  const std::array<std::string_view, 3> args{"PEXPIRE", key, t};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  auto n = to_integer(std::move(*r), "PEXPIRE");
  if (!n) co_return std::move(n).error();
  co_return *n == 1;
}

Client::Task<long long> Client::ttl(std::string_view key) {
  return detail::TypedCommands::integer_of_key(*this, "TTL", key);
}

Client::Task<long long> Client::incr(std::string_view key) {
  return detail::TypedCommands::integer_of_key(*this, "INCR", key);
}

Client::Task<long long> Client::incrby(std::string_view key, long long delta) {
  return detail::TypedCommands::incrby(*this, key, delta);
}

Client::Task<long long> Client::decr(std::string_view key) {
  const std::array<std::string_view, 2> args{"DECR", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(std::move(*r), "DECR");
}

Client::Task<std::vector<std::optional<std::string>>> Client::mget(
    std::span<const std::string_view> keys) {
  std::vector<std::string_view> args{"MGET"};
  args.insert(args.end(), keys.begin(), keys.end());
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  if (!r->is_array()) co_return unexpected("MGET", *r);
  std::vector<std::optional<std::string>> out;
  out.reserve(r->elements().size());
  for (auto& e : r->elements()) {
    auto v = to_opt_string(std::move(e), "MGET");
    if (!v) co_return std::move(v).error();
    out.push_back(std::move(*v));
  }
  co_return out;
}

Client::Task<void> Client::mset(std::span<const Field> pairs) {
  std::vector<std::string_view> args{"MSET"};
  for (const auto& [k, v] : pairs) {
    args.push_back(k);
    args.push_back(v);
  }
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return ok();
}

Client::Task<std::optional<std::string>> Client::hget(std::string_view key,
                                                      std::string_view field) {
  return detail::TypedCommands::hget(*this, key, field);
}

Client::Task<long long> Client::hset(std::string_view key, std::string_view field,
                                     std::string_view value) {
  const std::array<Field, 1> fields{Field{field, value}};
  co_return co_await hset(key, std::span<const Field>(fields));
}

Client::Task<long long> Client::hset(std::string_view key, std::span<const Field> fields) {
  return detail::TypedCommands::hset(*this, key, fields);
}

Client::Task<std::vector<std::pair<std::string, std::string>>> Client::hgetall(
    std::string_view key) {
  return detail::TypedCommands::hgetall(*this, key);
}

Client::Task<long long> Client::hdel(std::string_view key,
                                     std::span<const std::string_view> fields) {
  const auto args = with_key("HDEL", key, fields);
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(std::move(*r), "HDEL");
}

Client::Task<long long> Client::lpush(std::string_view key,
                                      std::span<const std::string_view> values) {
  return detail::TypedCommands::push(*this, "LPUSH", key, values);
}

Client::Task<long long> Client::rpush(std::string_view key,
                                      std::span<const std::string_view> values) {
  return detail::TypedCommands::push(*this, "RPUSH", key, values);
}

Client::Task<std::optional<std::string>> Client::lpop(std::string_view key) {
  const std::array<std::string_view, 2> args{"LPOP", key};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_opt_string(std::move(*r), "LPOP");
}

Client::Task<std::vector<std::string>> Client::lrange(std::string_view key, long long start,
                                                      long long stop) {
  return detail::TypedCommands::range(*this, "LRANGE", key, start, stop);
}

Client::Task<std::optional<std::pair<std::string, std::string>>> Client::blpop(
    std::span<const std::string_view> keys, std::chrono::seconds timeout) {
  using Popped = std::optional<std::pair<std::string, std::string>>;
  const std::string t = std::to_string(timeout.count());
  std::vector<std::string_view> args{"BLPOP"};
  args.insert(args.end(), keys.begin(), keys.end());
  args.push_back(t);
  // A blocking pop parks the connection on the server: exclusive lease, and a deadline that
  // covers the block time on top of command_timeout.
  auto lease = co_await state_->exclusive_pool().acquire();
  if (!lease) co_return std::move(lease).error();
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout.count() == 0) {
    deadline = std::chrono::milliseconds(0);  // blocks forever by request: no deadline
  } else if (state_->url.command_timeout.count() > 0) {
    deadline = state_->url.command_timeout + timeout;
  }
  auto r = co_await (*lease)->execute(args, deadline);
  if (!r) {
    lease->discard();  // a pop may still be parked on the server
    co_return std::move(r).error().with_context("redis BLPOP");
  }
  if (r->is_error()) {
    co_return error_reply_to_result(std::move(*r)).error().with_context("redis BLPOP");
  }
  if (r->is_nil()) co_return Popped{};
  auto kv = to_strings(std::move(*r), "BLPOP");
  if (!kv) co_return std::move(kv).error();
  if (kv->size() != 2) co_return Error(errc::protocol_error, "redis BLPOP: expected 2 elements");
  co_return Popped(std::in_place, std::move((*kv)[0]), std::move((*kv)[1]));
}

Client::Task<long long> Client::sadd(std::string_view key,
                                     std::span<const std::string_view> members) {
  return detail::TypedCommands::push(*this, "SADD", key, members);
}

Client::Task<std::vector<std::string>> Client::smembers(std::string_view key) {
  return detail::TypedCommands::smembers(*this, key);
}

Client::Task<long long> Client::zadd(std::string_view key, std::span<const ScoredMember> members) {
  return detail::TypedCommands::zadd(*this, key, members);
}

Client::Task<std::vector<std::string>> Client::zrange(std::string_view key, long long start,
                                                      long long stop) {
  return detail::TypedCommands::range(*this, "ZRANGE", key, start, stop);
}

Client::Task<std::vector<std::pair<std::string, double>>> Client::zrange_with_scores(
    std::string_view key, long long start, long long stop) {
  const std::string a = std::to_string(start);
  const std::string b = std::to_string(stop);
  const std::array<std::string_view, 5> args{"ZRANGE", key, a, b, "WITHSCORES"};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  auto flat = to_strings(std::move(*r), "ZRANGE");
  if (!flat) co_return std::move(flat).error();
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i + 1 < flat->size(); i += 2) {
    auto score = to_double((*flat)[i + 1], "ZRANGE");
    if (!score) co_return std::move(score).error();
    out.emplace_back(std::move((*flat)[i]), *score);
  }
  co_return out;
}

Client::Task<long long> Client::publish(std::string_view channel, std::string_view message) {
  const std::array<std::string_view, 3> args{"PUBLISH", channel, message};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  co_return to_integer(std::move(*r), "PUBLISH");
}

Client::Task<Reply> Client::eval(std::string_view script, std::span<const std::string_view> keys,
                                 std::span<const std::string_view> args) {
  const std::string numkeys = std::to_string(keys.size());
  const auto all = script_args("EVAL", script, numkeys, keys, args);
  co_return co_await run(all);
}

Client::Task<Reply> Client::evalsha(std::string_view sha1, std::span<const std::string_view> keys,
                                    std::span<const std::string_view> args) {
  const std::string numkeys = std::to_string(keys.size());
  const auto all = script_args("EVALSHA", sha1, numkeys, keys, args);
  co_return co_await run(all);
}

Client::Task<std::string> Client::script_load(std::string_view script) {
  const std::array<std::string_view, 3> args{"SCRIPT", "LOAD", script};
  auto r = co_await run(args);
  if (!r) co_return std::move(r).error();
  if (!r->is_string()) co_return unexpected("SCRIPT LOAD", *r);
  co_return r->take_str();
}

}  // namespace connpool::redis
