// Parsing of redis-sentinel:// URLs. The master part (credentials, db, query options) is
// delegated to RedisUrl::parse so both URL kinds accept exactly the same options; errors name
// the bad part and never quote a password.
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include "../url_text.hpp"

#include <algorithm>
#include <string>

namespace connpool::redis {

namespace {

using detail::percent_decode;

constexpr std::string_view kScheme = "redis-sentinel://";
constexpr std::chrono::milliseconds kMaxReconnectBackoff{500};

Error bad_url(std::string what) {
  return Error(errc::invalid_argument, "invalid redis-sentinel URL: " + std::move(what));
}

// "invalid redis URL: port 'x' ..." from RedisUrl::parse, re-labelled for this URL kind.
Error relabel(const Error& e, const std::string& where) {
  std::string msg = e.message();
  constexpr std::string_view kPrefix = "invalid redis URL";
  if (msg.starts_with(kPrefix)) msg = msg.substr(kPrefix.size());
  if (msg.starts_with(": ")) msg = msg.substr(2);
  return Error(e.code(), "invalid redis-sentinel URL: " + where + msg);
}

Result<SentinelUrl::Address> parse_sentinel(std::string_view text, std::size_t index) {
  const std::string where = "sentinel " + std::to_string(index + 1) + " ";
  if (text.empty()) return bad_url(where + "is empty (two commas in a row?)");
  auto parsed = RedisUrl::parse("redis://" + std::string(text));
  if (!parsed) return relabel(parsed.error(), where + "'" + std::string(text) + "': ");
  const bool has_port = text.front() == '[' ? text.find("]:") != std::string_view::npos
                                            : text.find(':') != std::string_view::npos;
  SentinelUrl::Address a;
  a.host = parsed->host;
  a.port = has_port ? parsed->port : 26379;
  return a;
}

}  // namespace

bool SentinelUrl::matches(std::string_view url) noexcept {
  return url.starts_with(kScheme);
}

Result<SentinelUrl> SentinelUrl::parse(std::string_view url) {
  if (!matches(url)) return bad_url("expected the scheme redis-sentinel://");
  SentinelUrl out;
  const auto parts = detail::split_url(url);
  if (!parts) return bad_url("expected the scheme redis-sentinel://");
  const std::string_view query = parts->query;
  if (!parts->userinfo_problem.empty()) return bad_url(std::string(parts->userinfo_problem));
  if (parts->has_fragment) return bad_url("fragments ('#') are not allowed");
  std::string_view authority = parts->authority;
  std::string_view path = parts->path;
  const std::string_view userinfo = parts->userinfo;
  if (authority.empty()) return bad_url("no sentinel address (redis-sentinel://host:26379,...)");
  std::size_t index = 0;
  while (true) {
    const auto comma = authority.find(',');
    auto address = parse_sentinel(authority.substr(0, comma), index++);
    if (!address) return std::move(address).error();
    out.sentinels.push_back(std::move(*address));
    if (comma == std::string_view::npos) break;
    authority = authority.substr(comma + 1);
  }

  // /master_name[/db]
  if (path.size() <= 1) {
    return bad_url("missing the master name (redis-sentinel://host:26379/mymaster)");
  }
  path.remove_prefix(1);
  std::string_view db;
  if (const auto s = path.find('/'); s != std::string_view::npos) {
    db = path.substr(s + 1);
    path = path.substr(0, s);
  }
  if (path.empty()) return bad_url("empty master name");
  if (!percent_decode(path, out.master_name)) {
    return bad_url("bad percent-encoding in the master name");
  }

  // Split the sentinel_* options from the master's.
  std::string master_query;
  for (const detail::QueryPair& item : detail::split_query(query)) {
    const std::string_view name = item.name;
    const std::string_view value = item.value;
    if (name == "sentinel_password" || name == "sentinel_username") {
      std::string& field =
          name == "sentinel_password" ? out.sentinel_password : out.sentinel_username;
      if (!item.has_value || !percent_decode(value, field)) {
        return Error(errc::invalid_config, "invalid redis-sentinel URL option '" +
                                               std::string(name) +
                                               "': missing '=value' or bad percent-encoding");
      }
    } else if (name == "sentinel_refresh") {
      auto d = detail::parse_bounded_duration(value);
      if (!d) {
        return Error(
            errc::invalid_config,
            "invalid redis-sentinel URL option 'sentinel_refresh': " + d.error().message());
      }
      out.sentinel_refresh = *d;
    } else if (name == "role") {
      if (value == "master") {
        out.role = SentinelUrl::Role::master;
      } else if (value == "replica") {
        out.role = SentinelUrl::Role::replica;
      } else {
        return Error(errc::invalid_config,
                     "invalid redis-sentinel URL option 'role': expected 'master' or 'replica', "
                     "got '" +
                         std::string(value) + "'");
      }
    } else {
      if (!master_query.empty()) master_query += '&';
      master_query.append(item.text);
    }
  }

  std::string master = "redis://";
  if (!userinfo.empty()) master += std::string(userinfo) + "@";
  master += "127.0.0.1";
  if (!db.empty()) master += "/" + std::string(db);
  if (!master_query.empty()) master += "?" + master_query;
  auto parsed = RedisUrl::parse(master);
  if (!parsed) return relabel(parsed.error(), "");
  out.master = std::move(*parsed);
  // A failover keeps the master unreachable for a few seconds; with the pool's default 10 s
  // backoff cap, the pool would then stay off the promoted replica for up to 10 s more.
  out.master.pool.reconnect_backoff_max =
      std::min(out.master.pool.reconnect_backoff_max, kMaxReconnectBackoff);
  out.master.pool.reconnect_backoff_initial =
      std::min(out.master.pool.reconnect_backoff_initial, out.master.pool.reconnect_backoff_max);
  return out;
}

std::string SentinelUrl::redacted() const {
  std::string out(kScheme);
  if (!master.username.empty() || !master.password.empty()) {
    out += master.username;
    if (!master.password.empty()) out += ":***";
    out += '@';
  }
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    if (i > 0) out += ',';
    out += master_url(sentinels[i]).endpoint();
  }
  out += "/" + master_name;
  if (master.db != 0) out += "/" + std::to_string(master.db);
  // Only what tells pools apart in stats; the other options are in the pool's own config.
  std::string query;
  if (!sentinel_password.empty()) query += "&sentinel_password=***";
  if (role == Role::replica) query += "&role=replica";
  if (!query.empty()) out += "?" + query.substr(1);
  return out;
}

RedisUrl SentinelUrl::sentinel_url(const Address& sentinel) const {
  RedisUrl u = master;
  u.host = sentinel.host;
  u.port = sentinel.port;
  u.db = 0;  // Sentinels have no databases (SELECT is not a Sentinel command)
  u.username = sentinel_username;
  u.password = sentinel_password;
  return u;
}

RedisUrl SentinelUrl::master_url(const Address& address) const {
  RedisUrl u = master;
  u.host = address.host;
  u.port = address.port;
  return u;
}

}  // namespace connpool::redis
