#include "values.hpp"

#include "connpool/config/redact.hpp"
#include "connpool/redis/cluster/cluster_url.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"
#include "connpool/redis/url.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

namespace connpool::config::detail {

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

Parsed<std::size_t> parse_size(std::string_view text) {
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // from_chars rejects a sign, so "-3" and "+3" land here too.
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Broken{"must be a whole number >= 0, got " + quote(text)};
  }
  return value;
}

Parsed<core::milliseconds> parse_duration_value(std::string_view text) {
  auto r = core::parse_duration(text);
  if (!r) return Broken{r.error().message()};
  // Longer is a typo, and `now() + d` would overflow the steady clock (about 292 years).
  if (*r > kMaxDuration) return Broken{"must be at most 1 year (8760h), got " + quote(text)};
  return *r;
}

Parsed<double> parse_ratio(std::string_view text) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
      !std::isfinite(value)) {
    return Broken{"must be a number, got " + quote(text)};
  }
  return value;
}

Parsed<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return Broken{"must be true or false, got " + quote(text)};
}

Parsed<core::IdleOrder> parse_idle_order(std::string_view text) {
  if (text == "lifo") return core::IdleOrder::lifo;
  if (text == "fifo") return core::IdleOrder::fifo;
  return Broken{"must be lifo or fifo, got " + quote(text)};
}

Parsed<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value > 65535) {
    return Broken{"must be a port number in [0, 65535], got " + quote(text)};
  }
  return static_cast<std::uint16_t>(value);
}

namespace {

// Pool policy belongs to the pool's own keys, where precedence and `config show` can see it; the
// Redis URL parsers would otherwise also read it from the query (for a cluster: every node's
// pools; for Sentinel: the master's), and one of the two would silently win. Option names the
// URL parsers accept, and the pool key each one means.
constexpr std::pair<std::string_view, std::string_view> kPoolOptions[] = {
    {"min_size", "min_size"},
    {"max_size", "max_size"},
    {"min_idle", "min_idle"},
    {"acquire_timeout", "acquire_timeout"},
    {"connect_timeout", "connect_timeout"},
    {"validation_timeout", "validation_timeout"},
    {"max_idle_time", "max_idle_time"},
    {"conn_max_idle_time", "max_idle_time"},
    {"max_lifetime", "max_lifetime"},
    {"conn_max_lifetime", "max_lifetime"},
    {"max_lifetime_jitter", "max_lifetime_jitter"},
    {"health_check_interval", "health_check_interval"},
    {"validate_after_idle", "validate_after_idle"},
    {"leak_detection_threshold", "leak_detection_threshold"},
    {"reconnect_backoff_initial", "reconnect_backoff_initial"},
    {"reconnect_backoff_max", "reconnect_backoff_max"},
    {"reconnect_backoff_multiplier", "reconnect_backoff_multiplier"},
    {"reconnect_backoff_jitter", "reconnect_backoff_jitter"},
    {"min_size_backoff_cap", "min_size_backoff_cap"},
    {"idle_order", "idle_order"},
    {"max_leases_per_connection", "max_leases_per_connection"},
    {"sizing", "sizing"},
    {"pool_size", "max_size"},
    {"min_idle_conns", "min_idle"},
    {"dial_timeout", "connect_timeout"},
    {"pool_timeout", "acquire_timeout"},
    {"pipeline_auto", "auto_pipeline"}};

std::optional<std::string> pool_option_in_query(std::string_view text) {
  const auto q = text.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = text.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const std::string_view item = query.substr(0, query.find('&'));
    const std::string_view name = item.substr(0, item.find('='));
    for (const auto& [option, key] : kPoolOptions) {
      if (name == option) {
        return "pool option '" + std::string(name) + "' belongs in the pool's own key '" +
               std::string(key) + "', not in the URL query";
      }
    }
    if (item.size() == query.size()) break;
    query.remove_prefix(item.size() + 1);
  }
  return std::nullopt;
}

// The URL parser's verdict: the same checks the runtime makes, so a configuration that loads
// also starts. Its messages name the bad part and never contain a password.
template <class Url>
std::optional<std::string> parser_verdict(std::string_view text) {
  auto parsed = Url::parse(text);
  if (parsed) return std::nullopt;
  return parsed.error().message();
}

}  // namespace

Parsed<std::string> parse_redis_url(std::string_view text) {
  enum class Kind { single, unix_socket, cluster, sentinel };
  Kind kind = Kind::single;
  std::string_view rest;
  if (text.starts_with("redis://")) {
    rest = text.substr(8);
  } else if (text.starts_with("rediss://")) {
    rest = text.substr(9);
  } else if (text.starts_with("unix://")) {
    rest = text.substr(7);
    kind = Kind::unix_socket;
  } else if (text.starts_with("redis-cluster://") || text.starts_with("rediss-cluster://")) {
    kind = Kind::cluster;
  } else if (redis::SentinelUrl::matches(text)) {
    kind = Kind::sentinel;
  } else {
    // Not a URL this parser understands, so no part of it can be told apart from a password
    // (redis:/user:secret@host): nothing of it is shown.
    return Broken{
        "must start with redis://, rediss://, unix://, redis-cluster://, rediss-cluster:// or "
        "redis-sentinel:// (the value is not shown: it may hold a password)"};
  }
  if (kind == Kind::single || kind == Kind::unix_socket) {
    const auto at = rest.substr(0, rest.find('?')).rfind('@');
    std::string_view target = rest.substr(at == std::string_view::npos ? 0 : at + 1);
    if (kind == Kind::unix_socket) {
      if (!target.starts_with("/")) {
        return Broken{"must name a socket path (unix:///path/redis.sock), got " +
                      quote(redact_url(text))};
      }
    } else if (target.substr(0, target.find_first_of(":/?#")).empty()) {
      return Broken{"must name a host, got " + quote(redact_url(text))};
    }
  }
  if (auto rule = pool_option_in_query(text)) return Broken{std::move(*rule)};
  std::optional<std::string> verdict;
  switch (kind) {
    case Kind::single:
    case Kind::unix_socket:
      verdict = parser_verdict<redis::RedisUrl>(text);
      break;
    case Kind::cluster:
      verdict = parser_verdict<redis::cluster::ClusterUrl>(text);
      break;
    case Kind::sentinel:
      verdict = parser_verdict<redis::SentinelUrl>(text);
      break;
  }
  if (verdict) return Broken{std::move(*verdict)};
  return std::string(text);
}

Parsed<std::string> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Broken{"must be host:port, got " + quote(text)};
  }
  if (!parse_port(text.substr(colon + 1)).value) {
    return Broken{"must be host:port with a port in [0, 65535], got " + quote(text)};
  }
  return std::string(text);
}

Parsed<std::string> parse_nonempty(std::string_view text) {
  if (text.empty()) return Broken{"must not be empty"};
  return std::string(text);
}

}  // namespace connpool::config::detail
