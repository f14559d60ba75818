// Command rules: what the proxy does with each command a client sends (docs/proxy.md).
//
// - Stateless commands run on the pool's shared, auto-pipelined connections.
// - Commands that leave state on the server connection pin the client to an exclusive lease for
//   as long as that state lives (MULTI..EXEC/DISCARD, WATCH..UNWATCH, SELECT of another db,
//   CLIENT TRACKING); blocking commands take one for the duration of the command.
// - (P)SUBSCRIBE moves the client to a subscriber connection until its last unsubscribe.
// - Commands that would change or break a shared connection are answered by the proxy (QUIT,
//   AUTH, HELLO, RESET, PING in subscriber mode) or refused with `-ERR ... (rule: <name>)`.
//
// Pure functions of the arguments; no state, thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace connpool::proxy {

enum class CommandKind {
  plain,         ///< stateless: shared lease
  blocking,      ///< may block the connection (BLPOP, WAIT, XREAD BLOCK, ...): exclusive lease
  multi,         ///< MULTI: pins
  exec,          ///< EXEC: ends MULTI and WATCH
  discard,       ///< DISCARD: ends MULTI and WATCH
  watch,         ///< WATCH: pins
  unwatch,       ///< UNWATCH: ends WATCH
  select,        ///< SELECT <db>: pins unless it is the upstream's db
  tracking,      ///< CLIENT TRACKING ON: pins until the client leaves
  subscribe,     ///< SUBSCRIBE
  psubscribe,    ///< PSUBSCRIBE
  unsubscribe,   ///< UNSUBSCRIBE
  punsubscribe,  ///< PUNSUBSCRIBE
  auth,          ///< AUTH: checked by the proxy
  hello,         ///< HELLO: answered by the proxy (RESP2 only)
  quit,          ///< QUIT: +OK and close
  reset,         ///< RESET: the proxy resets the client's state
  ping,          ///< PING: forwarded, or answered by the proxy in subscriber mode
  refused,       ///< refused by a rule (see CommandRule::rule)
};

struct CommandRule {
  CommandKind kind = CommandKind::plain;
  /// For refused commands: the rule's name as shown in the error and the metrics label
  /// ("client-kill", "shutdown", "monitor", "debug", "config-set", "replication", ...).
  std::string_view rule;
};

struct RuleOptions {
  /// Let CONFIG SET / CONFIG RESETSTAT / CONFIG REWRITE through. Default false.
  bool allow_config_set = false;
  /// The upstream is a Redis Cluster: commands no single node can serve for the whole keyspace
  /// are refused (rules cluster-keyspace, cluster-select, cluster-tracking; docs/proxy.md).
  bool cluster = false;
};

/// Classifies a request (args[0] is the command name, any case). An empty request is plain.
CommandRule classify(std::span<const std::string> args, const RuleOptions& options = {});

/// The `-ERR` reply for a refused command: "-ERR 'CLIENT KILL' is not allowed through the
/// connpool proxy (rule: client-kill)\r\n".
std::string refused_reply(std::span<const std::string> args, std::string_view rule);

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace connpool::proxy
