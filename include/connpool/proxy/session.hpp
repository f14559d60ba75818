// Session: the I/O-free state machine of one proxy client (docs/proxy.md).
//
// The driver feeds the client's bytes in and asks next() for the next Action, executes it
// (forwarding commands upstream, subscribing, replying) and appends the replies to the session's
// output buffer, one action after the other: so replies always leave in the client's order,
// however many commands it pipelines. Consecutive stateless commands become one forwarded batch
// (one write upstream, replies in order).
//
// Pinning: MULTI, WATCH, SELECT of another db and CLIENT TRACKING ON pin the client to an
// exclusive lease (Target::pinned) until the state is gone (EXEC/DISCARD, UNWATCH, SELECT back);
// the batch that clears the state has release_after set. Blocking commands take an exclusive
// lease for themselves (Target::exclusive_once) unless already pinned. When a pinned client
// leaves, reset_commands() says what puts its server connection back into a clean state.
//
// Transitions are planned from the commands, not from their replies (the driver never has to
// inspect a reply): a MULTI the server refused still counts as pinned until EXEC/DISCARD, which
// only keeps the lease a little longer; never the reverse.
//
// Thread safety: none; one Session per client, used by its driver only.
#pragma once

#include "connpool/proxy/command_rules.hpp"
#include "connpool/proxy/request_parser.hpp"

#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::proxy {

struct ProxyUser {
  std::string name;
  std::string password;
};

struct SessionOptions {
  ParserLimits limits;
  RuleOptions rules;
  /// Replies waiting for a client that does not read: over this many bytes the client is
  /// disconnected (overflowed()). Default 32 MiB; must be > 0.
  std::size_t max_output_bytes = 32u << 20;
  /// Most commands forwarded in one batch. Default 1024; must be > 0.
  std::size_t max_batch = 1024;
  /// The proxy's own password for AUTH <password> (the "default" user). Empty: none.
  std::string password;
  /// Named users for AUTH <user> <password> / HELLO 2 AUTH <user> <password>.
  std::vector<ProxyUser> users;
  /// The db the upstream URL selects: SELECT of this db never pins.
  long long upstream_db = 0;
  /// Forward actions carry their commands' arguments (Action::commands): needed to route them
  /// (a cluster upstream). Without, only the wire bytes and the count are kept, and the
  /// parser reuses the argument strings from one request to the next.
  bool keep_commands = true;
};

enum class Target {
  shared,          ///< the pool's shared, auto-pipelined connections
  pinned,          ///< the client's exclusive lease (acquired on first use, kept while pinned)
  exclusive_once,  ///< an exclusive lease for this one (blocking) command
};

struct Action {
  enum class Kind {
    forward,  ///< send `commands` to `target`; append each reply in order
    reply,    ///< append `bytes`
    pubsub,   ///< run `op` on the client's subscriber for `names`, then append `bytes`
    reset,    ///< RESET: clean up the pin (reset_commands) and the subscriber, append `bytes`
    close,    ///< flush the output, then close the client
  };
  Kind kind = Kind::reply;
  Target target = Target::shared;
  std::vector<std::vector<std::string>> commands;  ///< forward: empty without keep_commands
  std::size_t count = 0;                           ///< forward: how many commands
  /// forward: `commands` in RESP wire form, in order; a multibulk request's bytes are the
  /// client's own (as the parser checked them), an inline one's are encoded.
  std::string wire;
  /// The batch has a blocking command: no command timeout.
  bool no_timeout = false;
  /// After this batch the pin's state is gone: the lease can go back to the pool.
  bool release_after = false;
  std::string bytes;
  CommandKind op = CommandKind::plain;  ///< pubsub: subscribe/psubscribe/unsubscribe/punsubscribe
  std::vector<std::string> names;       ///< pubsub: channels or patterns to send upstream
  bool pubsub_started = false;          ///< pubsub: the first subscription (open a subscriber)
  bool pubsub_ended = false;            ///< pubsub/reset: no subscription left (close it)
  std::vector<std::vector<std::string>> reset;  ///< reset: commands that clean the pin
  /// The first command's rule name when the action is a refusal (for metrics), else empty.
  std::string_view refused_rule;
};

class Session {
 public:
  explicit Session(SessionOptions options);

  /// Bytes received from the client.
  void feed(std::string_view bytes) { parser_.feed(bytes); }
  /// The next thing to do, or nothing until more bytes arrive. After a close action, nothing.
  std::optional<Action> next();

  [[nodiscard]] bool pinned() const noexcept {
    return multi_ || watching_ || selected_ || tracking_;
  }
  [[nodiscard]] bool subscribed() const noexcept { return subscriptions() > 0; }
  [[nodiscard]] bool authenticated() const noexcept { return authenticated_; }
  [[nodiscard]] bool closing() const noexcept { return closing_; }
  /// Commands that put a pinned connection back into its pooled state (DISCARD, UNWATCH,
  /// SELECT <upstream db>, CLIENT TRACKING OFF, as needed); empty when not pinned.
  [[nodiscard]] std::vector<std::vector<std::string>> reset_commands() const;
  /// Forget the pinned state (after reset_commands() ran, or the connection was dropped).
  void clear_pin() noexcept { multi_ = watching_ = selected_ = tracking_ = false; }

  // ---- output buffer -------------------------------------------------------------------------
  /// Queues bytes for the client; false (and overflowed() from then on) when the buffer would
  /// exceed max_output_bytes: the driver disconnects the client.
  bool append_output(std::string_view bytes);
  /// Takes everything queued (the driver writes it).
  std::string take_output() { return std::exchange(output_, {}); }
  [[nodiscard]] std::size_t output_size() const noexcept { return output_.size(); }
  /// Bytes handed to the driver but not yet written count too: the driver reports them here.
  void set_in_write(std::size_t bytes) noexcept { in_write_ = bytes; }
  [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
  /// Bytes the client's replies may still take before it overflows: the driver asks the
  /// upstream for no more than this (so a client that does not read never makes the proxy hold
  /// more than max_output_bytes for it, however large the replies it pipelined).
  [[nodiscard]] std::size_t output_room() const noexcept {
    const std::size_t used = output_.size() + in_write_;
    return used >= options_.max_output_bytes ? 0 : options_.max_output_bytes - used;
  }
  /// The replies would not fit into output_room(): as a failed append_output().
  void overflow() noexcept {
    overflowed_ = true;
    output_.clear();
  }
  /// Parser bytes not yet consumed (the driver stops reading while requests are pending).
  [[nodiscard]] std::size_t buffered_input() const noexcept { return parser_.buffered(); }

 private:
  Action decide(std::vector<std::string>& args);
  Action forward(Target target, std::vector<std::string>& args);
  Action pinned_forward(std::vector<std::string>& args);
  Action unpinning_forward(std::vector<std::string>& args);
  Action auth(std::span<const std::string> args);
  Action hello(std::span<const std::string> args);
  Action select(std::vector<std::string>& args);
  Action pubsub(CommandKind op, std::span<const std::string> args);
  Action subscriber_context(std::span<const std::string> args, CommandKind kind);
  bool check_credentials(std::string_view user, std::string_view password) const;
  [[nodiscard]] bool auth_required() const noexcept {
    return !options_.password.empty() || !options_.users.empty();
  }
  [[nodiscard]] std::size_t subscriptions() const noexcept {
    return channels_.size() + patterns_.size();
  }

  SessionOptions options_;
  RequestParser parser_;
  std::optional<Action> pending_;  // decided, not yet returned (it could not join a batch)
  std::vector<std::string> args_;
  bool authenticated_ = false;
  bool multi_ = false;
  bool watching_ = false;
  bool selected_ = false;  // SELECTed a db other than the upstream's
  bool tracking_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
  std::string output_;
  std::size_t in_write_ = 0;
  bool overflowed_ = false;
};

/// A RESP reply for a simple message: "+OK\r\n".
inline std::string status_line(std::string_view text) {
  return "+" + std::string(text) + "\r\n";
}

}  // namespace connpool::proxy
