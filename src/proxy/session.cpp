// The per-client state machine of the proxy (see session.hpp).
#include "connpool/proxy/session.hpp"

#include "connpool/proxy/resp_writer.hpp"

#include <charconv>
#include <utility>

namespace connpool::proxy {

namespace {

bool parse_integer(std::string_view text, long long& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// Compares without stopping at the first difference, so the time taken does not tell an
// attacker how much of a guessed password was right.
bool same_secret(std::string_view a, std::string_view b) noexcept {
  std::size_t diff = a.size() ^ b.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |=
        static_cast<unsigned char>(a[i]) ^ (i < b.size() ? static_cast<unsigned char>(b[i]) : 0u);
  }
  return diff == 0;
}

Action reply(std::string bytes) {
  Action a;
  a.kind = Action::Kind::reply;
  a.bytes = std::move(bytes);
  return a;
}

Action refusal(std::span<const std::string> args, std::string_view rule) {
  Action a = reply(refused_reply(args, rule));
  a.refused_rule = rule;
  return a;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Session::Session(SessionOptions options)
    : options_(std::move(options)), parser_(options_.limits), authenticated_(!auth_required()) {}

std::optional<Action> Session::next() {
  if (closed_) return std::nullopt;
  if (closing_ && !pending_) {
    closed_ = true;
    Action a;
    a.kind = Action::Kind::close;
    return a;
  }
  Action action;
  if (pending_) {
    action = std::move(*pending_);
    pending_.reset();
  } else {
    switch (parser_.next(args_)) {
      case RequestParser::Status::need_more:
        return std::nullopt;
      case RequestParser::Status::error:
        closing_ = true;
        return reply(error_line("ERR " + parser_.error()));
      case RequestParser::Status::request:
        action = decide(args_);
        break;
    }
  }
  // Later stateless commands for the same target join this batch; a command that cannot join
  // is decided now and kept for the next call, so state changes still apply in order.
  if (action.kind != Action::Kind::forward || action.release_after || action.no_timeout ||
      action.target == Target::exclusive_once) {
    return action;
  }
  while (action.count < options_.max_batch && !closing_) {
    if (parser_.next(args_) != RequestParser::Status::request) {
      if (!parser_.error().empty()) {
        closing_ = true;
        pending_ = reply(error_line("ERR " + parser_.error()));
      }
      break;
    }
    Action more = decide(args_);
    if (more.kind != Action::Kind::forward || more.target != action.target) {
      pending_ = std::move(more);
      break;
    }
    for (auto& c : more.commands) action.commands.push_back(std::move(c));
    action.count += more.count;
    action.wire += more.wire;
    action.release_after = more.release_after;
    action.no_timeout = more.no_timeout;
    if (action.release_after || action.no_timeout) break;
  }
  return action;
}

Action Session::forward(Target target, std::vector<std::string>& args) {
  Action a;
  a.kind = Action::Kind::forward;
  a.target = target;
  // The parser returned these args just now: its wire bytes are theirs.
  if (const auto wire = parser_.last_wire(); !wire.empty()) {
    a.wire.assign(wire);
  } else {
    append_array_header(a.wire, args.size());
    for (const auto& arg : args) append_bulk(a.wire, arg);
  }
  a.count = 1;
  if (options_.keep_commands) {
    a.commands.push_back(std::move(args));
    args = {};
  }
  return a;
}

Action Session::pinned_forward(std::vector<std::string>& args) {
  return forward(Target::pinned, args);
}

// A command that may end the pin: on the pinned lease, released afterwards when clean.
Action Session::unpinning_forward(std::vector<std::string>& args) {
  Action a = forward(Target::pinned, args);
  a.release_after = !pinned();
  return a;
}

Action Session::decide(std::vector<std::string>& args) {
  const auto rule = classify(args, options_.rules);
  if (rule.kind == CommandKind::quit) {
    closing_ = true;
    return reply("+OK\r\n");
  }
  if (!authenticated_ && rule.kind != CommandKind::auth && rule.kind != CommandKind::hello) {
    return reply("-NOAUTH Authentication required.\r\n");
  }
  if (subscribed()) return subscriber_context(args, rule.kind);
  switch (rule.kind) {
    case CommandKind::refused:
      return refusal(args, rule.rule);
    case CommandKind::auth:
      return auth(args);
    case CommandKind::hello:
      return hello(args);
    case CommandKind::reset: {
      Action a;
      a.kind = Action::Kind::reset;
      a.reset = reset_commands();
      a.bytes = "+RESET\r\n";
      clear_pin();
      authenticated_ = !auth_required();
      return a;
    }
    case CommandKind::multi:
      if (multi_)
        return pinned_forward(args);  // the server answers "MULTI calls can not be nested"
      multi_ = true;
      return pinned_forward(args);
    case CommandKind::exec:
    case CommandKind::discard:
      if (!pinned()) return forward(Target::shared, args);  // "EXEC without MULTI"
      multi_ = false;
      watching_ = false;  // EXEC and DISCARD both forget WATCHed keys
      return unpinning_forward(args);
    case CommandKind::watch:
      if (!multi_) watching_ = true;  // inside MULTI the server refuses it
      return pinned_forward(args);
    case CommandKind::unwatch:
      if (!pinned()) return forward(Target::shared, args);
      if (!multi_) watching_ = false;
      return unpinning_forward(args);
    case CommandKind::select:
      return select(args);
    case CommandKind::tracking:
      tracking_ = true;
      return pinned_forward(args);
    case CommandKind::subscribe:
    case CommandKind::psubscribe:
    case CommandKind::unsubscribe:
    case CommandKind::punsubscribe:
      if (multi_) {
        return reply(error_line("ERR " + lower(args[0]) +
                                " inside MULTI is not supported by the connpool proxy "
                                "(rule: pubsub-in-multi)"));
      }
      return pubsub(rule.kind, args);
    case CommandKind::blocking: {
      Action a = forward(pinned() ? Target::pinned : Target::exclusive_once, args);
      a.no_timeout = !multi_;  // queued inside MULTI, it does not block
      return a;
    }
    case CommandKind::quit:  // answered above
    case CommandKind::ping:
    case CommandKind::plain:
      break;
  }
  return forward(pinned() ? Target::pinned : Target::shared, args);
}

bool Session::check_credentials(std::string_view user, std::string_view password) const {
  bool ok = false;
  // Every candidate is compared, so the time does not tell which user exists.
  if (user == "default" && !options_.password.empty()) {
    ok = same_secret(password, options_.password) || ok;
  }
  for (const auto& u : options_.users) {
    if (u.name == user) ok = same_secret(password, u.password) || ok;
  }
  return ok;
}

Action Session::auth(std::span<const std::string> args) {
  if (args.size() < 2 || args.size() > 3) {
    return reply("-ERR wrong number of arguments for 'auth' command\r\n");
  }
  if (!auth_required()) {
    return reply(
        "-ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?\r\n");
  }
  const std::string_view user = args.size() == 3 ? std::string_view(args[1]) : "default";
  if (!check_credentials(user, args.back())) {
    return reply("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  }
  authenticated_ = true;
  return reply("+OK\r\n");
}

Action Session::hello(std::span<const std::string> args) {
  if (args.size() >= 2) {
    long long version = 0;
    if (!parse_integer(args[1], version)) {
      return reply("-ERR Protocol version is not an integer or out of range\r\n");
    }
    // RESP3 would need every reply re-encoded (maps, pushes): the proxy speaks RESP2.
    if (version != 2) return reply("-NOPROTO unsupported protocol version\r\n");
  }
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (iequals(args[i], "auth") && i + 2 < args.size()) {
      if (!auth_required()) {
        return reply(
            "-ERR AUTH <password> called without any password configured for the default "
            "user. Are you sure your configuration is correct?\r\n");
      }
      if (!check_credentials(args[i + 1], args[i + 2])) {
        return reply("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
      }
      authenticated_ = true;
      i += 2;
    } else if (iequals(args[i], "setname") && i + 1 < args.size()) {
      ++i;  // the name of a shared connection is not the client's to set: accepted, unused
    } else {
      return reply(error_line("ERR Syntax error in HELLO option '" +
                              std::string(args[i].substr(0, 32)) + "'"));
    }
  }
  if (!authenticated_)
    return reply(
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
        "RESP protocol version at the same time\r\n");
  std::string out;
  append_array_header(out, 14);
  const std::pair<std::string_view, std::string_view> fields[] = {
      {"server", "redis"}, {"version", "7.0.0"}, {"mode", "standalone"}, {"role", "master"}};
  for (const auto& [k, v] : fields) {
    append_bulk(out, k);
    append_bulk(out, v);
  }
  append_bulk(out, "proto");
  out.append(":2\r\n");
  append_bulk(out, "id");
  out.append(":0\r\n");
  append_bulk(out, "modules");
  out.append("*0\r\n");
  return reply(std::move(out));
}

Action Session::select(std::vector<std::string>& args) {
  long long db = 0;
  if (args.size() != 2) return reply("-ERR wrong number of arguments for 'select' command\r\n");
  if (!parse_integer(args[1], db)) return reply("-ERR value is not an integer or out of range\r\n");
  if (db == options_.upstream_db) {
    if (!selected_) return reply("+OK\r\n");  // already there: nothing to pin
    selected_ = false;
    return unpinning_forward(args);
  }
  selected_ = true;
  return pinned_forward(args);
}

Action Session::subscriber_context(std::span<const std::string> args, CommandKind kind) {
  switch (kind) {
    case CommandKind::subscribe:
    case CommandKind::psubscribe:
    case CommandKind::unsubscribe:
    case CommandKind::punsubscribe:
      return pubsub(kind, args);
    case CommandKind::ping: {
      std::string out;
      append_array_header(out, 2);
      append_bulk(out, "pong");
      append_bulk(out, args.size() > 1 ? std::string_view(args[1]) : std::string_view());
      return reply(std::move(out));
    }
    case CommandKind::reset: {
      Action a;
      a.kind = Action::Kind::reset;
      a.reset = reset_commands();
      a.bytes = "+RESET\r\n";
      a.pubsub_ended = true;
      channels_.clear();
      patterns_.clear();
      clear_pin();
      authenticated_ = !auth_required();
      return a;
    }
    default:
      return reply(error_line("ERR Can't execute '" + lower(args[0].substr(0, 32)) +
                              "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                              "are allowed in this context"));
  }
}

Action Session::pubsub(CommandKind op, std::span<const std::string> args) {
  Action a;
  a.kind = Action::Kind::pubsub;
  a.op = op;
  const bool was = subscribed();
  const bool pattern = op == CommandKind::psubscribe || op == CommandKind::punsubscribe;
  auto& set = pattern ? patterns_ : channels_;
  const bool adding = op == CommandKind::subscribe || op == CommandKind::psubscribe;
  const std::string_view verb = op == CommandKind::subscribe     ? "subscribe"
                                : op == CommandKind::psubscribe  ? "psubscribe"
                                : op == CommandKind::unsubscribe ? "unsubscribe"
                                                                 : "punsubscribe";
  if (adding && args.size() < 2) {
    return reply(
        error_line("ERR wrong number of arguments for '" + std::string(verb) + "' command"));
  }
  std::vector<std::string> names(args.begin() + 1, args.end());
  if (!adding && names.empty()) names.assign(set.begin(), set.end());  // all of them
  if (!adding && names.empty()) {
    // Nothing to leave: one confirmation with a nil name, as redis-server answers.
    append_array_header(a.bytes, 3);
    append_bulk(a.bytes, verb);
    a.bytes.append("$-1\r\n");
    a.bytes.append(":" + std::to_string(subscriptions()) + "\r\n");
    return a;
  }
  for (const auto& name : names) {
    if (adding) {
      if (set.insert(name).second) a.names.push_back(name);
    } else if (set.erase(name) > 0) {
      a.names.push_back(name);
    }
    append_array_header(a.bytes, 3);
    append_bulk(a.bytes, verb);
    append_bulk(a.bytes, name);
    a.bytes.append(":" + std::to_string(subscriptions()) + "\r\n");
  }
  a.pubsub_started = !was && subscribed();
  a.pubsub_ended = was && !subscribed();
  return a;
}

std::vector<std::vector<std::string>> Session::reset_commands() const {
  std::vector<std::vector<std::string>> out;
  if (multi_) out.push_back({"DISCARD"});
  if (watching_ || multi_) out.push_back({"UNWATCH"});
  if (selected_) out.push_back({"SELECT", std::to_string(options_.upstream_db)});
  if (tracking_) out.push_back({"CLIENT", "TRACKING", "OFF"});
  return out;
}

bool Session::append_output(std::string_view bytes) {
  if (overflowed_) return false;
  if (output_.size() + in_write_ + bytes.size() > options_.max_output_bytes) {
    overflowed_ = true;
    output_.clear();
    return false;
  }
  output_.append(bytes);
  return true;
}

}  // namespace connpool::proxy
