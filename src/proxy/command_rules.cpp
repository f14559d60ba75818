// The proxy's command table (see command_rules.hpp and docs/proxy.md).
#include "connpool/proxy/command_rules.hpp"

#include <array>
#include <cctype>
#include <unordered_map>
#include <utility>

namespace connpool::proxy {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

namespace {

struct Entry {
  std::string_view name;
  CommandKind kind;
};

// Commands whose kind depends on the name alone.
constexpr std::array kByName{
    Entry{"multi", CommandKind::multi},
    Entry{"exec", CommandKind::exec},
    Entry{"discard", CommandKind::discard},
    Entry{"watch", CommandKind::watch},
    Entry{"unwatch", CommandKind::unwatch},
    Entry{"select", CommandKind::select},
    Entry{"subscribe", CommandKind::subscribe},
    Entry{"psubscribe", CommandKind::psubscribe},
    Entry{"unsubscribe", CommandKind::unsubscribe},
    Entry{"punsubscribe", CommandKind::punsubscribe},
    Entry{"auth", CommandKind::auth},
    Entry{"hello", CommandKind::hello},
    Entry{"quit", CommandKind::quit},
    Entry{"reset", CommandKind::reset},
    Entry{"ping", CommandKind::ping},
    Entry{"blpop", CommandKind::blocking},
    Entry{"brpop", CommandKind::blocking},
    Entry{"brpoplpush", CommandKind::blocking},
    Entry{"blmove", CommandKind::blocking},
    Entry{"blmpop", CommandKind::blocking},
    Entry{"bzpopmin", CommandKind::blocking},
    Entry{"bzpopmax", CommandKind::blocking},
    Entry{"bzmpop", CommandKind::blocking},
    Entry{"wait", CommandKind::blocking},
    Entry{"waitaof", CommandKind::blocking},
};

struct RefusedEntry {
  std::string_view name;
  std::string_view rule;
};

// Refused whatever their arguments: each would stop, take over or break a shared connection.
constexpr std::array kRefused{
    RefusedEntry{"shutdown", "shutdown"},
    RefusedEntry{"monitor", "monitor"},
    RefusedEntry{"debug", "debug"},
    RefusedEntry{"sync", "replication"},
    RefusedEntry{"psync", "replication"},
    RefusedEntry{"replconf", "replication"},
    RefusedEntry{"replicaof", "replication"},
    RefusedEntry{"slaveof", "replication"},
    RefusedEntry{"failover", "replication"},
    RefusedEntry{"ssubscribe", "sharded-pubsub"},
    RefusedEntry{"sunsubscribe", "sharded-pubsub"},
};

// Through a cluster these would see (or change) one node's share of the keyspace only. (SCAN
// is served across every primary: cluster_scan.hpp.)
constexpr std::array kClusterKeyspace{
    std::string_view("keys"),     std::string_view("randomkey"), std::string_view("dbsize"),
    std::string_view("flushall"), std::string_view("flushdb"),   std::string_view("swapdb"),
    std::string_view("move"),
};

// Refusals that apply only in front of a Redis Cluster (RuleOptions::cluster).
CommandRule classify_cluster(std::span<const std::string> args) {
  const auto& name = args[0];
  for (const auto cmd : kClusterKeyspace) {
    if (iequals(name, cmd)) return {CommandKind::refused, "cluster-keyspace"};
  }
  // A cluster has db 0 only; SELECT 0 is answered by the session.
  if (iequals(name, "select") && args.size() == 2 && args[1] != "0") {
    return {CommandKind::refused, "cluster-select"};
  }
  // Invalidations would come from one node only.
  if (iequals(name, "client") && args.size() >= 3 && iequals(args[1], "tracking") &&
      iequals(args[2], "on")) {
    return {CommandKind::refused, "cluster-tracking"};
  }
  return {CommandKind::plain, {}};
}

CommandRule classify_client(std::span<const std::string> args) {
  if (args.size() < 2) return {CommandKind::plain, {}};
  const auto& sub = args[1];
  if (iequals(sub, "kill")) return {CommandKind::refused, "client-kill"};
  // Replies switched off or skipped would shift every later reply on a shared connection.
  if (iequals(sub, "reply")) return {CommandKind::refused, "client-reply"};
  // The name, pause and eviction flags are properties of the shared connection (or server).
  if (iequals(sub, "setname")) return {CommandKind::refused, "client-setname"};
  if (iequals(sub, "pause") || iequals(sub, "unpause"))
    return {CommandKind::refused, "client-pause"};
  if (iequals(sub, "no-evict") || iequals(sub, "no-touch")) {
    return {CommandKind::refused, "client-flags"};
  }
  if (iequals(sub, "tracking")) {
    if (args.size() >= 3 && iequals(args[2], "on")) return {CommandKind::tracking, {}};
    return {CommandKind::plain, {}};
  }
  return {CommandKind::plain, {}};
}

}  // namespace

namespace {

// kByName and kRefused by lower-case name, plus the names classify() looks at further
// (CLIENT, CONFIG, XREAD, XREADGROUP) as plain: every request is classified, and one lookup
// costs less than comparing the name with each entry (a tenth of the proxy's instructions for
// GET/SET went there).
const std::unordered_map<std::string_view, CommandRule>& rules_by_name() {
  static const auto table = [] {
    std::unordered_map<std::string_view, CommandRule> t;
    for (const auto& e : kByName) t.emplace(e.name, CommandRule{e.kind, {}});
    for (const auto& e : kRefused) t.emplace(e.name, CommandRule{CommandKind::refused, e.rule});
    for (const std::string_view more : {"client", "config", "xread", "xreadgroup"}) {
      t.emplace(more, CommandRule{CommandKind::plain, {}});
    }
    return t;
  }();
  return table;
}

// The command name in lower case (ASCII), in `buffer`; empty when longer than any name in the
// table (such a command is plain).
std::string_view lowered(std::string_view name, std::array<char, 16>& buffer) noexcept {
  if (name.size() > buffer.size()) return {};
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    buffer[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {buffer.data(), name.size()};
}

}  // namespace

CommandRule classify(std::span<const std::string> args, const RuleOptions& options) {
  if (args.empty()) return {CommandKind::plain, {}};
  if (options.cluster) {
    if (auto rule = classify_cluster(args); rule.kind == CommandKind::refused) return rule;
  }
  std::array<char, 16> buffer;
  const std::string_view name = lowered(args[0], buffer);
  const auto& table = rules_by_name();
  const auto found = table.find(name);
  if (found == table.end()) return {CommandKind::plain, {}};
  if (found->second.kind != CommandKind::plain) return found->second;
  if (name == "client") return classify_client(args);
  if (name == "config" && args.size() >= 2 && !options.allow_config_set &&
      (iequals(args[1], "set") || iequals(args[1], "resetstat") || iequals(args[1], "rewrite"))) {
    return {CommandKind::refused, "config-set"};
  }
  // XREAD / XREADGROUP block only with a BLOCK option (before STREAMS).
  if (name == "xread" || name == "xreadgroup") {
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (iequals(args[i], "streams")) break;
      if (iequals(args[i], "block")) return {CommandKind::blocking, {}};
    }
  }
  return {CommandKind::plain, {}};
}

std::string refused_reply(std::span<const std::string> args, std::string_view rule) {
  std::string shown;
  for (std::size_t i = 0; i < args.size() && i < 2; ++i) {
    // Only the command (and subcommand) names: the arguments may hold secrets or junk.
    if (i == 1 && !(iequals(args[0], "client") || iequals(args[0], "config"))) break;
    if (!shown.empty()) shown.push_back(' ');
    for (char c : args[i].substr(0, 32)) {
      const auto u = static_cast<unsigned char>(c);
      shown.push_back(std::isalnum(u) || c == '-' || c == '_' ? static_cast<char>(std::toupper(u))
                                                              : '?');
    }
  }
  return "-ERR '" + shown +
         "' is not allowed through the connpool proxy (rule: " + std::string(rule) + ")\r\n";
}

}  // namespace connpool::proxy
