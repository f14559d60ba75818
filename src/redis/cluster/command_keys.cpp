// Key position and read-only-ness of Redis commands, for routing. A small table instead of
// COMMAND INFO: a round trip per new command name is not worth it for the common commands,
// and the server still answers CROSSSLOT / MOVED when a rare command is routed by the wrong
// argument.
#include "command_keys.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace connpool::redis::cluster::detail {

namespace {

// Upper-case copy of a command name; commands longer than the buffer match nothing.
struct Name {
  std::array<char, 24> buf{};
  std::string_view view;
  explicit Name(std::string_view in) {
    if (in.size() > buf.size()) return;
    std::transform(in.begin(), in.end(), buf.begin(), [](char c) {
      return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    view = std::string_view(buf.data(), in.size());
  }
};

constexpr std::string_view kKeyless[] = {
    "ACL",     "AUTH",     "BGREWRITEAOF", "BGSAVE",   "CLIENT",    "CLUSTER",  "COMMAND", "CONFIG",
    "DBSIZE",  "DEBUG",    "ECHO",         "FLUSHALL", "FLUSHDB",   "FUNCTION", "HELLO",   "INFO",
    "KEYS",    "LASTSAVE", "LATENCY",      "LOLWUT",   "MEMORY",    "MODULE",   "MONITOR", "PING",
    "PUBLISH", "PUBSUB",   "RANDOMKEY",    "READONLY", "READWRITE", "ROLE",     "SAVE",    "SCAN",
    "SCRIPT",  "SELECT",   "SHUTDOWN",     "SLOWLOG",  "SWAPDB",    "TIME",     "WAIT",    "MULTI"};

constexpr std::string_view kReadOnly[] = {
    "BITCOUNT",   "BITPOS",    "DUMP",        "EVALSHA_RO", "EVAL_RO",       "EXISTS", "EXPIRETIME",
    "FCALL_RO",   "GEODIST",   "GEOHASH",     "GEOPOS",     "GEOSEARCH",     "GET",    "GETBIT",
    "GETRANGE",   "HEXISTS",   "HGET",        "HGETALL",    "HKEYS",         "HLEN",   "HMGET",
    "HRANDFIELD", "HSCAN",     "HSTRLEN",     "HVALS",      "LINDEX",        "LLEN",   "LPOS",
    "LRANGE",     "MGET",      "PEXPIRETIME", "PFCOUNT",    "PTTL",          "SCARD",  "SDIFF",
    "SINTER",     "SISMEMBER", "SMEMBERS",    "SMISMEMBER", "SRANDMEMBER",   "SSCAN",  "STRLEN",
    "SUBSTR",     "SUNION",    "TTL",         "TYPE",       "XLEN",          "XRANGE", "XREVRANGE",
    "ZCARD",      "ZCOUNT",    "ZMSCORE",     "ZRANGE",     "ZRANGEBYSCORE", "ZRANK",  "ZREVRANGE",
    "ZSCAN",      "ZSCORE"};

bool contains(std::span<const std::string_view> table, std::string_view name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

}  // namespace

CommandRoute route_of(std::span<const std::string_view> args) {
  CommandRoute route;
  if (args.empty()) return route;
  const Name name(args[0]);
  const std::string_view cmd = name.view;
  route.read_only = contains(kReadOnly, cmd);
  if (contains(kKeyless, cmd)) return route;
  if (cmd == "EVAL" || cmd == "EVALSHA" || cmd == "EVAL_RO" || cmd == "EVALSHA_RO" ||
      cmd == "FCALL" || cmd == "FCALL_RO") {
    long long numkeys = 0;
    if (args.size() > 3) {
      const std::string_view n = args[2];
      std::from_chars(n.data(), n.data() + n.size(), numkeys);
      if (numkeys > 0) route.key = args[3];
    }
    return route;
  }
  if (cmd == "XREAD" || cmd == "XREADGROUP") {
    for (std::size_t i = 1; i + 1 < args.size(); ++i) {
      if (Name(args[i]).view == "STREAMS") {
        route.key = args[i + 1];
        break;
      }
    }
    route.read_only = cmd == "XREAD";
    return route;
  }
  if (args.size() > 1) route.key = args[1];
  return route;
}

}  // namespace connpool::redis::cluster::detail
