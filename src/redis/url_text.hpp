// The text-level pieces every Redis URL form shares (redis://, redis-cluster://,
// redis-sentinel://): splitting into parts, query splitting and percent-decoding. Internal to
// connpool::redis.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {

/// "<scheme>://[userinfo@]authority[/path][?query]", undecoded.
struct UrlParts {
  std::string_view scheme;     ///< before "://"
  std::string_view rest;       ///< between "://" and the query
  std::string_view userinfo;   ///< before the authority's last '@' (a raw '@' in a password works)
  bool has_userinfo = false;   ///< the authority has an '@' (the userinfo may still be empty)
  std::string_view authority;  ///< the host list: after the userinfo, up to the first '/'
  std::string_view path;       ///< from the first '/' of `rest`; empty when there is none
  std::string_view query;      ///< after the first '?'
  bool has_fragment = false;   ///< `rest` holds a '#': every Redis URL form rejects it
};

/// nullopt when `url` has no "://".
std::optional<UrlParts> split_url(std::string_view url);

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
