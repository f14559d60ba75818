// The text-level pieces every Redis URL form shares (redis://, redis-cluster://,
// redis-sentinel://): query splitting and percent-decoding. Internal to connpool::redis.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {

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
