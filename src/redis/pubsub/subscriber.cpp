// Subscriber: the run loop (connect, resubscribe, read, back off, again), message dispatch,
// (un)subscribe with confirmation, receive, close, and the public facade.
#include "connpool/redis/subscriber.hpp"

#include "connpool/redis/client.hpp"

#include "../connection_impl.hpp"
#include "subscriber_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>

namespace connpool::redis {

namespace detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

Error closed_error() {
  return Error(errc::cancelled, "redis subscriber closed");
}

std::string_view kind_of(const Reply& r) {
  if (!r.is_array() || r.elements().empty() || !r.elements()[0].is_string()) return {};
  return r.elements()[0].str();
}

}  // namespace

SubscriberImpl::SubscriberImpl(Strand strand, std::vector<RedisUrl> endpoints,
                               std::vector<std::shared_ptr<asio::ssl::context>> tls,
                               SubscriberOptions options)
    : strand_(std::move(strand)),
      endpoints_(std::move(endpoints)),
      tls_(std::move(tls)),
      options_(options) {}

void SubscriberImpl::start() {
  asio::co_spawn(strand_, run(shared_from_this()), asio::detached);
}

std::optional<Error> SubscriberImpl::last_error() const {
  std::lock_guard lock(info_mu_);
  return last_error_;
}

std::string SubscriberImpl::endpoint() const {
  std::lock_guard lock(info_mu_);
  return endpoint_;
}

void SubscriberImpl::set_error(Error e) {
  std::lock_guard lock(info_mu_);
  last_error_ = std::move(e);
}

void SubscriberImpl::notify() noexcept {
  for (auto* t : waiters_) t->cancel();
}

asio::awaitable<bool> SubscriberImpl::wait_for_change(SteadyClock::time_point deadline) {
  asio::steady_timer timer(strand_);
  timer.expires_at(deadline);
  auto it = waiters_.insert(waiters_.end(), &timer);
  auto [ec] = co_await timer.async_wait(nothrow);
  waiters_.erase(it);
  co_return ec == asio::error::operation_aborted;
}

void SubscriberImpl::close() noexcept {
  if (close_requested_.exchange(true)) return;
  asio::post(strand_, [self = shared_from_this()] {
    self->closed_ = true;
    if (self->session_) self->session_->close();
    self->queue_.clear();
    self->notify();
  });
}

// ---- writing ------------------------------------------------------------------------------

void SubscriberImpl::send(std::span<const std::string_view> args) {
  if (!session_ || session_->closed) return;
  auto cmd = FormattedCommand::format(args);
  if (!cmd) {
    set_error(std::move(cmd).error());  // change() refuses such a command before it gets here
    return;
  }
  session_->out.emplace_back(cmd->data(), cmd->size());
  if (!session_->write_active) write_next(session_);
}

void SubscriberImpl::write_next(std::shared_ptr<PubSubSession> session) {
  if (session->out.empty() || session->closed) {
    session->write_active = false;
    return;
  }
  session->write_active = true;
  session->writing = std::move(session->out.front());
  session->out.pop_front();
  std::visit(
      [&](auto& s) {
        asio::async_write(s, asio::buffer(session->writing),
                          [session](const boost::system::error_code& ec, std::size_t) {
                            // A failed write closes the socket; the reader then reports why.
                            if (ec) {
                              session->write_active = false;
                              session->close();
                              return;
                            }
                            write_next(session);
                          });
      },
      session->stream);
}

void SubscriberImpl::send_subscriptions(bool pattern, bool add,
                                        const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::vector<std::string_view> args;
  args.reserve(names.size() + 1);
  args.push_back(pattern ? (add ? "PSUBSCRIBE" : "PUNSUBSCRIBE")
                         : (add ? "SUBSCRIBE" : "UNSUBSCRIBE"));
  args.insert(args.end(), names.begin(), names.end());
  send(args);
}

// ---- the run loop -------------------------------------------------------------------------

asio::awaitable<void> SubscriberImpl::run(std::shared_ptr<SubscriberImpl> self) {
  auto delay = self->options_.reconnect_backoff_initial;
  std::size_t index = 0;
  while (!self->closed_) {
    const RedisUrl& url = self->endpoints_[index];
    {
      std::lock_guard lock(self->info_mu_);
      self->endpoint_ = url.endpoint();
    }
    auto session = std::make_shared<PubSubSession>(self->strand_, url, self->tls_[index].get());
    auto opened = co_await self->open(session, url);
    if (self->closed_) {
      session->close();
      break;
    }
    if (!opened) {
      session->close();
      self->set_error(opened.error());
      self->notify();
      // The next endpoint (if several), after a backoff that close() cuts short.
      index = (index + 1) % self->endpoints_.size();
      const auto until = SteadyClock::now() + delay;
      while (!self->closed_ && SteadyClock::now() < until) co_await self->wait_for_change(until);
      delay = std::min(delay * 2, self->options_.reconnect_backoff_max);
      continue;
    }
    delay = self->options_.reconnect_backoff_initial;
    self->session_ = session;
    self->connected_ = true;
    if (self->sessions_++ > 0) {
      self->reconnects_.fetch_add(1);
      if (self->options_.report_reconnects) {
        Message gap;
        gap.kind = Message::Kind::reconnected;
        auto why = self->last_error();
        gap.payload = why ? why->to_string() : std::string("reconnected");
        self->queue_.push_back(std::move(gap));
      }
    }
    const std::vector<std::string> channels(self->channels_.begin(), self->channels_.end());
    const std::vector<std::string> patterns(self->patterns_.begin(), self->patterns_.end());
    self->send_subscriptions(false, true, channels);
    self->send_subscriptions(true, true, patterns);
    self->notify();
    if (self->options_.ping_interval.count() > 0) {
      asio::co_spawn(self->strand_, health_check(self, session), asio::detached);
    }

    Error why = co_await self->read_session(session, url);
    session->close();
    self->session_.reset();
    self->connected_ = false;
    self->confirmed_channels_.clear();
    self->confirmed_patterns_.clear();
    if (!self->closed_) {
      self->set_error(std::move(why));
      const auto until = SteadyClock::now() + delay;
      self->notify();
      while (!self->closed_ && SteadyClock::now() < until) co_await self->wait_for_change(until);
    }
  }
  self->connected_ = false;
  self->notify();
}

asio::awaitable<void> SubscriberImpl::health_check(std::shared_ptr<SubscriberImpl> self,
                                                   std::shared_ptr<PubSubSession> session) {
  const auto interval = self->options_.ping_interval;
  while (!session->closed) {
    session->ping_timer.expires_after(interval);
    co_await session->ping_timer.async_wait(nothrow);
    if (session->closed) co_return;
    if (SteadyClock::now() - session->last_read < interval) continue;
    if (session->ping_outstanding) {
      // The reader then fails with the timeout (see read_session).
      session->ping_timed_out = true;
      session->close();
      co_return;
    }
    session->ping_outstanding = true;
    if (self->session_ == session) {
      const std::array<std::string_view, 1> ping{"PING"};
      self->send(ping);
    }
  }
}

asio::awaitable<Error> SubscriberImpl::read_session(std::shared_ptr<PubSubSession> session,
                                                    const RedisUrl& url) {
  std::vector<char> buf(16 * 1024);
  for (;;) {
    // Backpressure: stop reading while the buffer is full (see SubscriberOptions).
    while (options_.max_buffered != 0 && queue_.size() >= options_.max_buffered && !closed_ &&
           !session->closed) {
      co_await wait_for_change(SteadyClock::time_point::max());
    }
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return s.async_read_some(asio::buffer(buf), nothrow); }, session->stream);
    if (ec) {
      if (closed_) co_return closed_error();
      if (session->ping_timed_out) {
        co_return Error(errc::timeout, "no reply to PING from " + url.endpoint() + " within " +
                                           std::to_string(options_.ping_interval.count()) +
                                           "ms (ping_interval)");
      }
      const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      co_return Error(errc::io_error,
                      eof ? url.endpoint() + " closed the connection"
                          : "read from " + url.endpoint() + " failed: " + ec.message());
    }
    if (auto fed = session->reader.feed(buf.data(), n); !fed) co_return fed.error();
    for (;;) {
      auto next = session->reader.next();
      if (!next) co_return next.error();
      if (!*next) break;
      // Only a complete reply proves the server alive: bytes of an endless reply do not.
      session->last_read = SteadyClock::now();
      session->ping_outstanding = false;
      if (auto d = dispatch(std::move(**next)); !d) co_return d.error();
    }
    notify();
  }
}

Result<void> SubscriberImpl::dispatch(Reply reply) {
  if (reply.is_error()) {
    // An error reply to one of our commands (e.g. NOPERM for a channel the ACL user may not
    // use): the connection itself is fine.
    reply_error_ = Error(errc::server_error, reply.str());
    ++reply_errors_;
    return ok();
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
    return Error(errc::protocol_error, "unexpected pub/sub reply " + reply.to_display());
  }
  return ok();
}

// ---- operations ---------------------------------------------------------------------------

asio::awaitable<Result<void>> SubscriberImpl::change(std::shared_ptr<SubscriberImpl> self,
                                                     bool pattern, bool add,
                                                     std::vector<std::string> names) {
  if (self->closed_) co_return closed_error();
  auto& wanted = pattern ? self->patterns_ : self->channels_;
  auto& confirmed = pattern ? self->confirmed_patterns_ : self->confirmed_channels_;
  if (names.empty()) {
    if (add) co_return Error(errc::invalid_argument, "subscribe needs at least one name");
    names.assign(wanted.begin(), wanted.end());  // unsubscribe from everything
    if (names.empty()) co_return ok();
  }
  {
    std::vector<std::string_view> args{"SUBSCRIBE"};
    args.insert(args.end(), names.begin(), names.end());
    if (FormattedCommand::wire_size(args) > kDefaultMaxCommandBytes) {
      co_return Error(errc::invalid_argument, "subscribe: the names exceed the command size limit");
    }
  }
  for (const auto& n : names) {
    if (add) {
      wanted.insert(n);
    } else {
      wanted.erase(n);
    }
  }
  const auto errors_before = self->reply_errors_;
  self->send_subscriptions(pattern, add, names);
  const auto deadline = SteadyClock::now() + self->options_.confirm_timeout;
  for (;;) {
    if (self->closed_) co_return closed_error();
    const bool done = std::all_of(names.begin(), names.end(), [&](const std::string& n) {
      return confirmed.contains(n) == add;
    });
    if (done) co_return ok();
    if (self->reply_errors_ != errors_before && self->reply_error_) {
      // Do not resubscribe forever to what the server refuses.
      if (add) {
        for (const auto& n : names) {
          if (!confirmed.contains(n)) wanted.erase(n);
        }
      }
      co_return self->reply_error_->with_context(add ? "redis subscribe" : "redis unsubscribe");
    }
    co_await self->wait_for_change(deadline);
    if (SteadyClock::now() >= deadline) {
      std::string msg = std::string(add ? "subscribe" : "unsubscribe") + " not confirmed by " +
                        self->endpoint() + " within " +
                        std::to_string(self->options_.confirm_timeout.count()) + "ms";
      if (auto e = self->last_error(); e && !self->connected_) {
        msg += " (not connected: " + e->to_string() + ")";
      }
      co_return Error(errc::timeout, std::move(msg));
    }
  }
}

asio::awaitable<Result<Message>> SubscriberImpl::receive(std::shared_ptr<SubscriberImpl> self,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline =
      timeout.count() > 0 ? SteadyClock::now() + timeout : SteadyClock::time_point::max();
  for (;;) {
    if (self->closed_) co_return closed_error();
    if (!self->queue_.empty()) {
      Message m = std::move(self->queue_.front());
      self->queue_.pop_front();
      // The reader may be waiting for room.
      if (self->options_.max_buffered != 0 &&
          self->queue_.size() + 1 == self->options_.max_buffered) {
        self->notify();
      }
      co_return m;
    }
    co_await self->wait_for_change(deadline);
    if (SteadyClock::now() >= deadline && self->queue_.empty() && !self->closed_) {
      co_return Error(errc::timeout,
                      "no pub/sub message within " + std::to_string(timeout.count()) + "ms");
    }
  }
}

}  // namespace detail

// ---- facade -------------------------------------------------------------------------------

namespace asio = boost::asio;

Result<Subscriber> Subscriber::create(asio::any_io_executor executor,
                                      std::vector<RedisUrl> endpoints, SubscriberOptions options) {
  if (endpoints.empty()) {
    return Error(errc::invalid_argument, "redis subscriber: no endpoint to connect to");
  }
  if (options.reconnect_backoff_initial.count() <= 0 ||
      options.reconnect_backoff_max < options.reconnect_backoff_initial) {
    return Error(errc::invalid_config,
                 "redis subscriber: reconnect backoff must be > 0 and initial <= max");
  }
  std::vector<std::shared_ptr<asio::ssl::context>> tls;
  for (const auto& url : endpoints) {
    if (url.transport != Transport::tls) {
      tls.emplace_back();
      continue;
    }
    auto ctx = detail::make_tls_context(url);
    if (!ctx) return std::move(ctx).error();
    tls.push_back(std::move(*ctx));
  }
  auto impl = std::make_shared<detail::SubscriberImpl>(
      asio::make_strand(executor), std::move(endpoints), std::move(tls), options);
  impl->start();
  return Subscriber(std::move(impl));
}

Result<Subscriber> Subscriber::create(asio::any_io_executor executor, RedisUrl url,
                                      SubscriberOptions options) {
  std::vector<RedisUrl> endpoints;
  endpoints.push_back(std::move(url));
  return create(std::move(executor), std::move(endpoints), options);
}

Result<Subscriber> Subscriber::create(const Client& client, SubscriberOptions options) {
  return create(client.executor(), client.url(), options);
}

Subscriber::Subscriber(std::shared_ptr<detail::SubscriberImpl> impl) : impl_(std::move(impl)) {}
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Subscriber::~Subscriber() {
  if (impl_) impl_->close();
}

Subscriber::Task<void> Subscriber::subscribe(std::vector<std::string> channels) {
  auto op = detail::SubscriberImpl::change(impl_, false, true, std::move(channels));
  co_return co_await asio::co_spawn(impl_->strand(), std::move(op), asio::use_awaitable);
}
Subscriber::Task<void> Subscriber::unsubscribe(std::vector<std::string> channels) {
  auto op = detail::SubscriberImpl::change(impl_, false, false, std::move(channels));
  co_return co_await asio::co_spawn(impl_->strand(), std::move(op), asio::use_awaitable);
}
Subscriber::Task<void> Subscriber::psubscribe(std::vector<std::string> patterns) {
  auto op = detail::SubscriberImpl::change(impl_, true, true, std::move(patterns));
  co_return co_await asio::co_spawn(impl_->strand(), std::move(op), asio::use_awaitable);
}
Subscriber::Task<void> Subscriber::punsubscribe(std::vector<std::string> patterns) {
  auto op = detail::SubscriberImpl::change(impl_, true, false, std::move(patterns));
  co_return co_await asio::co_spawn(impl_->strand(), std::move(op), asio::use_awaitable);
}

Subscriber::Task<Message> Subscriber::receive() {
  const std::chrono::milliseconds none{0};
  auto op = detail::SubscriberImpl::receive(impl_, none);
  co_return co_await asio::co_spawn(impl_->strand(), std::move(op), asio::use_awaitable);
}
Subscriber::Task<Message> Subscriber::receive(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = std::chrono::milliseconds(1);
  auto op = detail::SubscriberImpl::receive(impl_, timeout);
  co_return co_await asio::co_spawn(impl_->strand(), std::move(op), asio::use_awaitable);
}

void Subscriber::close() noexcept {
  if (impl_) impl_->close();
}
std::uint64_t Subscriber::reconnects() const noexcept {
  return impl_->reconnects();
}
bool Subscriber::connected() const noexcept {
  return impl_->connected();
}
std::optional<Error> Subscriber::last_error() const {
  return impl_->last_error();
}
std::string Subscriber::endpoint() const {
  return impl_->endpoint();
}
asio::any_io_executor Subscriber::executor() const {
  return impl_->strand();
}

}  // namespace connpool::redis
