// The text-level pieces every Redis URL form shares (redis://, redis-cluster://,
// redis-sentinel://): splitting into parts, query splitting and percent-decoding. Internal to
// connpool::redis.
#pragma once

#include "connpool/core/result.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {

/// "<scheme>://[userinfo@]authority[/path][?query]", undecoded.
///
/// The userinfo is everything before the last '@' that precedes the query, so a raw '@', '/'
/// or ':' in a password works. A raw '?' in a password is recognised too (an option name never
/// holds '@', so an '@' between a '?' and the first '=' after it ends a userinfo) and reported
/// through `userinfo_problem`, like a raw '#': callers refuse the URL without quoting it.
struct UrlParts {
  std::string_view scheme;     ///< before "://"
  std::string_view rest;       ///< between "://" and the query (userinfo included)
  std::string_view userinfo;   ///< before the last '@' (see above)
  bool has_userinfo = false;   ///< an '@' was found (the userinfo may still be empty)
  std::string_view authority;  ///< the host list: after the userinfo, up to the first '/'
  std::string_view path;       ///< from the first '/' after the userinfo; empty when none
  std::string_view query;      ///< after the first '?' that follows the userinfo
  bool has_fragment = false;   ///< a '#' after the userinfo: every Redis URL form rejects it
  /// Non-empty when the userinfo holds a byte a URL cannot carry raw ('?' or '#'): the reason,
  /// which never quotes the userinfo.
  std::string_view userinfo_problem;
};

/// nullopt when `url` has no "://".
std::optional<UrlParts> split_url(std::string_view url);

/// The longest duration any URL option accepts: longer ones are typos, and would overflow
/// `now() + d` (the steady clock counts nanoseconds in 64 bits, about 292 years).
inline constexpr std::chrono::milliseconds kMaxOptionDuration = std::chrono::hours(24 * 365);

/// core::parse_duration, bounded by kMaxOptionDuration; the error names neither the option nor
/// the URL (callers add the option's name).
Result<std::chrono::milliseconds> parse_bounded_duration(std::string_view text);

/// A byte count: a whole number with an optional unit (B, KiB, MiB, GiB; KB/MB/GB mean the same
/// powers of 1024, as Redis's own config does), at least 1 and at most 4 GiB.
Result<std::size_t> parse_byte_size(std::string_view text);

/// One `name=value` item of a URL query, undecoded.
struct QueryPair {
  std::string_view text;   ///< the whole item, as written
  std::string_view name;   ///< before the first '='
  std::string_view value;  ///< after it (empty when there is no '=')
  bool has_value = false;  ///< an '=' was present
};

/// "a=1&&b&c=3" -> (a,1), (b, no value), (c,3): empty items are skipped.
std::vector<QueryPair> split_query(std::string_view query);

/// Percent-decoding; false on a broken escape. '+' stays '+' (URLs, not form encoding).
bool percent_decode(std::string_view in, std::string& out);

}  // namespace connpool::redis::detail
