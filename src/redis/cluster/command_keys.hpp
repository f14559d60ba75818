// Which key routes a command, and whether the command only reads (may go to a replica).
// Internal.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace connpool::redis::cluster::detail {

struct CommandRoute {
  /// The key whose slot picks the node; none for keyless commands (any primary serves them).
  std::optional<std::string_view> key;
  /// True for commands that never write (GET, HGETALL, ...): eligible for read_from.
  bool read_only = false;
};

/// The rules: EVAL/EVALSHA/FCALL (and _RO) use their first key after numkeys; XREAD /
/// XREADGROUP the first key after STREAMS; commands known to take no key (PING, INFO, CLUSTER,
/// SCRIPT, ...) none; every other command its first argument.
CommandRoute route_of(std::span<const std::string_view> args);

}  // namespace connpool::redis::cluster::detail
