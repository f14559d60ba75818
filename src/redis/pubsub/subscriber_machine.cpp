// The Subscriber's state machine (see subscriber_machine.hpp).
#include "subscriber_machine.hpp"

#include "../resp.hpp"

#include <algorithm>
#include <string_view>

namespace connpool::redis::detail {

namespace {

core::BackoffPolicy reconnect_policy(const SubscriberOptions& o) {
  core::BackoffPolicy p;
  p.initial = o.reconnect_backoff_initial;
  p.max = o.reconnect_backoff_max;
  return p;
}

core::Backoff make_backoff(const SubscriberOptions& o, std::uint64_t seed) {
  return seed == 0 ? core::Backoff(reconnect_policy(o)) : core::Backoff(reconnect_policy(o), seed);
}

std::string_view kind_of(const Reply& r) {
  if (!r.is_array() || r.elements().empty() || !r.elements()[0].is_string()) return {};
  return r.elements()[0].str();
}

}  // namespace

SubscriberMachine::SubscriberMachine(std::vector<std::string> endpoints, SubscriberOptions options,
                                     std::uint64_t backoff_seed, std::size_t max_reply_bytes)
    : endpoints_(std::move(endpoints)),
      options_(options),
      max_reply_bytes_(max_reply_bytes),
      backoff_(make_backoff(options, backoff_seed)) {}

SubscriberMachine::Effects SubscriberMachine::start(Clock::time_point now) {
  if (state_ != State::idle) return {};
  return open_next(now);
}

SubscriberMachine::Effects SubscriberMachine::open_next(Clock::time_point /*now*/) {
  Effects fx;
  state_ = State::connecting;
  backoff_until_ = Clock::time_point::max();
  fx.open_session = ++session_;
  fx.endpoint = endpoint_;
  return fx;
}

SubscriberMachine::Effects SubscriberMachine::begin_backoff(Error why, Clock::time_point now,
                                                            bool close_session) {
  Effects fx;
  fx.close_session = close_session;
  fx.wake = true;
  last_error_ = std::move(why);
  confirmed_channels_.clear();
  confirmed_patterns_.clear();
  ping_outstanding_ = false;
  next_ping_ = Clock::time_point::max();
  state_ = State::backoff;
  backoff_until_ = now + std::chrono::duration_cast<Clock::duration>(backoff_.next());
  return fx;
}

SubscriberMachine::Effects SubscriberMachine::connected(std::uint64_t session,
                                                        Clock::time_point now) {
  if (session != session_ || state_ != State::connecting) return {};
  Effects fx;
  state_ = State::connected;
  reader_.emplace(max_reply_bytes_);  // nothing of an earlier session's bytes carries over
  backoff_.reset();
  last_read_ = now;
  ping_outstanding_ = false;
  if (options_.ping_interval.count() > 0) next_ping_ = now + options_.ping_interval;
  if (sessions_up_++ > 0) {
    ++reconnects_;
    if (options_.report_reconnects) {
      Message gap;
      gap.kind = Message::Kind::reconnected;
      gap.payload = last_error_ ? last_error_->to_string() : std::string("reconnected");
      queue_.push_back(std::move(gap));
    }
  }
  const std::vector<std::string> channels(channels_.begin(), channels_.end());
  const std::vector<std::string> patterns(patterns_.begin(), patterns_.end());
  fx.write = subscription_bytes(false, true, channels) + subscription_bytes(true, true, patterns);
  fx.wake = true;
  return fx;
}

SubscriberMachine::Effects SubscriberMachine::connect_failed(std::uint64_t session, Error why,
                                                             Clock::time_point now) {
  if (session != session_ || state_ != State::connecting) return {};
  // The next endpoint (if several), after a backoff.
  endpoint_ = (endpoint_ + 1) % std::max<std::size_t>(1, endpoints_.size());
  return begin_backoff(std::move(why), now, true);
}

SubscriberMachine::Effects SubscriberMachine::lost(std::uint64_t session, Error why,
                                                   Clock::time_point now) {
  if (session != session_ || state_ != State::connected) return {};
  return begin_backoff(std::move(why), now, true);
}

SubscriberMachine::Effects SubscriberMachine::on_bytes(std::uint64_t session, const char* data,
                                                       std::size_t size, Clock::time_point now) {
  if (session != session_ || state_ != State::connected) return {};
  if (auto fed = reader_->feed(data, size); !fed) return begin_backoff(fed.error(), now, true);
  Effects fx;
  for (;;) {
    auto next = reader_->next();
    if (!next) return begin_backoff(next.error(), now, true);
    if (!*next) return fx;
    auto one = received(session, std::move(**next), now);
    fx.wake = fx.wake || one.wake;
    fx.write += one.write;
    if (one.close_session) {
      one.wake = true;
      return one;  // the session broke on this reply: the rest of the bytes are not read
    }
  }
}

SubscriberMachine::Effects SubscriberMachine::received(std::uint64_t session, Reply reply,
                                                       Clock::time_point now) {
  if (session != session_ || state_ != State::connected) return {};
  Effects fx;
  fx.wake = true;
  last_read_ = now;
  ping_outstanding_ = false;
  if (reply.is_error()) {
    // An error reply to one of our commands (e.g. NOPERM for a channel the ACL user may not
    // use): the connection itself is fine.
    reply_error_ = Error(errc::server_error, reply.str());
    ++reply_errors_;
    return fx;
  }
  const std::string_view kind = kind_of(reply);
  auto& parts = reply.elements();
  if (kind == "message" && parts.size() == 3) {
    Message m;
    m.kind = Message::Kind::message;
    m.channel = parts[1].take_str();
    m.payload = parts[2].take_str();
    queue_.push_back(std::move(m));
  } else if (kind == "pmessage" && parts.size() == 4) {
    Message m;
    m.kind = Message::Kind::pmessage;
    m.pattern = parts[1].take_str();
    m.channel = parts[2].take_str();
    m.payload = parts[3].take_str();
    queue_.push_back(std::move(m));
  } else if (kind == "subscribe" && parts.size() == 3) {
    confirmed_channels_.insert(parts[1].str());
  } else if (kind == "psubscribe" && parts.size() == 3) {
    confirmed_patterns_.insert(parts[1].str());
  } else if (kind == "unsubscribe" && parts.size() == 3) {
    confirmed_channels_.erase(parts[1].str());
  } else if (kind == "punsubscribe" && parts.size() == 3) {
    confirmed_patterns_.erase(parts[1].str());
  } else if (kind != "pong" && !(reply.is_status() && reply.str() == "PONG")) {
    return begin_backoff(
        Error(errc::protocol_error, "unexpected pub/sub reply " + reply.to_display()), now, true);
  }
  return fx;
}

SubscriberMachine::Effects SubscriberMachine::on_time(Clock::time_point now) {
  if (state_ == State::backoff && now >= backoff_until_) return open_next(now);
  if (state_ != State::connected || now < next_ping_) return {};
  const auto interval = options_.ping_interval;
  next_ping_ = now + interval;
  if (now - last_read_ < interval) return {};  // the connection spoke lately
  if (ping_outstanding_) {
    return begin_backoff(
        Error(errc::timeout, "no reply to PING from " + endpoints_[endpoint_] + " within " +
                                 std::to_string(interval.count()) + "ms (ping_interval)"),
        now, true);
  }
  ping_outstanding_ = true;
  Effects fx;
  const std::array<std::string_view, 1> ping{"PING"};
  if (auto cmd = FormattedCommand::format(ping)) fx.write.assign(cmd->data(), cmd->size());
  return fx;
}

SubscriberMachine::Effects SubscriberMachine::change(bool pattern, bool add,
                                                     std::vector<std::string>& names) {
  Effects fx;
  if (closed()) return fx;
  auto& wanted = pattern ? patterns_ : channels_;
  if (names.empty() && !add) names.assign(wanted.begin(), wanted.end());
  for (const auto& n : names) {
    if (add) {
      wanted.insert(n);
    } else {
      wanted.erase(n);
    }
  }
  if (state_ == State::connected) fx.write = subscription_bytes(pattern, add, names);
  return fx;
}

SubscriberMachine::Effects SubscriberMachine::close() {
  Effects fx;
  if (closed()) return fx;
  fx.close_session = state_ == State::connecting || state_ == State::connected;
  fx.wake = true;
  state_ = State::closed;
  queue_.clear();
  backoff_until_ = Clock::time_point::max();
  next_ping_ = Clock::time_point::max();
  return fx;
}

SubscriberMachine::Clock::time_point SubscriberMachine::next_wakeup() const noexcept {
  if (state_ == State::backoff) return backoff_until_;
  if (state_ == State::connected) return next_ping_;
  return Clock::time_point::max();
}

bool SubscriberMachine::wants_read() const noexcept {
  return options_.max_buffered == 0 || queue_.size() < options_.max_buffered;
}

Message SubscriberMachine::pop_message(bool& wake) {
  Message m = std::move(queue_.front());
  queue_.pop_front();
  // The reader may be waiting for room.
  wake = options_.max_buffered != 0 && queue_.size() + 1 == options_.max_buffered;
  return m;
}

bool SubscriberMachine::confirmed(bool pattern, bool add,
                                  const std::vector<std::string>& names) const {
  const auto& confirmed = pattern ? confirmed_patterns_ : confirmed_channels_;
  return std::all_of(names.begin(), names.end(),
                     [&](const std::string& n) { return confirmed.contains(n) == add; });
}

void SubscriberMachine::forget_unconfirmed(bool pattern, const std::vector<std::string>& names) {
  auto& wanted = pattern ? patterns_ : channels_;
  const auto& confirmed = pattern ? confirmed_patterns_ : confirmed_channels_;
  for (const auto& n : names) {
    if (!confirmed.contains(n)) wanted.erase(n);
  }
}

std::string SubscriberMachine::subscription_bytes(bool pattern, bool add,
                                                  const std::vector<std::string>& names) const {
  if (names.empty()) return {};
  const std::string_view verb =
      pattern ? (add ? "PSUBSCRIBE" : "PUNSUBSCRIBE") : (add ? "SUBSCRIBE" : "UNSUBSCRIBE");
  // Each change() was checked against the command size limit, but the whole set resubscribed
  // after a reconnect (or "unsubscribe from all") may exceed it: split it into several commands.
  // A name's cost is counted generously ("$" + up to 20 digits + 2 CRLF + the name); 64 bytes
  // are left for the "*<n>" header and the verb.
  constexpr std::size_t kBudget = kDefaultMaxCommandBytes - 64;
  std::string bytes;
  std::vector<std::string_view> args{verb};
  std::size_t size = 0;
  auto flush = [&] {
    if (args.size() == 1) return;
    if (auto cmd = FormattedCommand::format(args)) bytes.append(cmd->data(), cmd->size());
    args.resize(1);
    size = 0;
  };
  for (const auto& n : names) {
    const std::size_t cost = n.size() + 25;
    if (size + cost > kBudget) flush();
    args.push_back(n);
    size += cost;
  }
  flush();
  return bytes;
}

}  // namespace connpool::redis::detail
