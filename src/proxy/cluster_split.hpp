// Multi-key commands split by hash slot for a proxy in front of a Redis Cluster
// (docs/proxy.md#redis-cluster-upstream). A client that is not cluster-aware sends
// `MGET a b c` with keys on several nodes; the proxy sends one command per slot and merges the
// replies back into the one reply the client expects, in its key order.
//
// Pure functions (no I/O), unit-tested in tests/unit/proxy/cluster_split_test.cpp.
#pragma once

#include "connpool/redis/reply.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace connpool::proxy::detail {

struct SlotSplit {
  /// How the parts' replies become the client's reply.
  enum class Merge {
    values,  ///< MGET: an array, each part's elements put back at their keys' positions
    sum,     ///< DEL, EXISTS, UNLINK, TOUCH: the sum of the parts' integers
    ok,      ///< MSET: +OK once every part said OK
  };
  Merge merge = Merge::values;
  /// One command per slot, in order of the slot's first key.
  std::vector<std::vector<std::string>> parts;
  /// For each part, the positions (in the client's key list) of its keys.
  std::vector<std::vector<std::size_t>> positions;
  /// Keys in the client's command.
  std::size_t key_count = 0;
};

/// The split of `command` when it is a multi-key command (MGET, MSET, DEL, EXISTS, UNLINK,
/// TOUCH) whose keys span several slots; nothing otherwise (the command goes as it is, and a
/// malformed one gets the server's own error).
std::optional<SlotSplit> split_by_slot(const std::vector<std::string>& command);

/// The client's reply from the parts' replies (in the order of split.parts): the first error
/// reply of a part when there is one, else the merged reply.
redis::Reply merge_parts(const SlotSplit& split, std::span<redis::Reply> replies);

}  // namespace connpool::proxy::detail
