// Parsing of scalar texts into typed values. Each failure is the rule that was broken, phrased to
// follow "<where>: <key path>: ", e.g. "must be a whole number >= 0, got '-3'".
#pragma once

#include "connpool/core/pool_config.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace connpool::config::detail {

/// The rule a text broke; converts to any Parsed<T>.
struct Broken {
  std::string rule;
};

/// A value, or the broken rule when `value` is empty.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string rule;

  Parsed(T v) : value(std::move(v)) {}           // NOLINT: implicit, so parsers `return value;`
  Parsed(Broken b) : rule(std::move(b.rule)) {}  // NOLINT
};

Parsed<std::size_t> parse_size(std::string_view text);
/// The longest duration any key accepts (the Redis URL parsers use the same bound).
inline constexpr core::milliseconds kMaxDuration = std::chrono::hours(24 * 365);
/// A duration (250ms, 30s, 10m, 1h), at most kMaxDuration.
Parsed<core::milliseconds> parse_duration_value(std::string_view text);
Parsed<double> parse_ratio(std::string_view text);
Parsed<bool> parse_bool(std::string_view text);
Parsed<core::IdleOrder> parse_idle_order(std::string_view text);
Parsed<std::uint16_t> parse_port(std::string_view text);
/// redis://, rediss:// (with a host), unix:// (with a path), redis-cluster://, rediss-cluster://
/// or redis-sentinel://, accepted by the matching Redis URL parser (RedisUrl, ClusterUrl,
/// SentinelUrl), without pool options in the query. The rule never holds a password.
Parsed<std::string> parse_redis_url(std::string_view text);
/// host:port with a numeric port.
Parsed<std::string> parse_host_port(std::string_view text);
Parsed<std::string> parse_nonempty(std::string_view text);

std::string quote(std::string_view text);

}  // namespace connpool::config::detail
