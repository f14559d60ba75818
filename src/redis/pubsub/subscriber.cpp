// Subscriber: the Asio driver of the SubscriberMachine (sessions, reads, writes, the wake-up
// timer), (un)subscribe with confirmation, receive, close, and the public facade.
#include "connpool/redis/subscriber.hpp"

#include "connpool/redis/client.hpp"

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

std::vector<std::string> endpoint_names(const std::vector<RedisUrl>& endpoints) {
  std::vector<std::string> names;
  for (const auto& url : endpoints) names.push_back(url.endpoint());
  return names;
}

// The endpoints are interchangeable (one deployment's nodes): the strictest bound applies.
std::size_t max_reply_bytes(const std::vector<RedisUrl>& endpoints) {
  if (endpoints.empty()) return kDefaultMaxReplyBytes;
  std::size_t bound = endpoints.front().max_reply_bytes;
  for (const auto& url : endpoints) bound = std::min(bound, url.max_reply_bytes);
  return bound;
}

}  // namespace

SubscriberImpl::SubscriberImpl(Strand strand, std::vector<RedisUrl> endpoints,
                               std::vector<std::shared_ptr<asio::ssl::context>> tls,
                               SubscriberOptions options)
    : strand_(std::move(strand)),
      endpoints_(std::move(endpoints)),
      tls_(std::move(tls)),
      options_(options),
      machine_(endpoint_names(endpoints_), options, 0, max_reply_bytes(endpoints_)),
      wakeup_(strand_) {}

void SubscriberImpl::start() {
  asio::post(strand_, [self = shared_from_this()] {
    self->apply(self->machine_.start(SteadyClock::now()));
  });
}

std::optional<Error> SubscriberImpl::last_error() const {
  std::lock_guard lock(info_mu_);
  return last_error_;
}

std::string SubscriberImpl::endpoint() const {
  std::lock_guard lock(info_mu_);
  return endpoint_;
}

void SubscriberImpl::notify() noexcept {
  for (auto* t : waiters_) t->cancel();
}

asio::awaitable<void> SubscriberImpl::wait_for_change(SteadyClock::time_point deadline) {
  asio::steady_timer timer(strand_);
  timer.expires_at(deadline);
  auto it = waiters_.insert(waiters_.end(), &timer);
  co_await timer.async_wait(nothrow);
  waiters_.erase(it);
}

void SubscriberImpl::close() noexcept {
  if (close_requested_.exchange(true)) return;
  asio::post(strand_, [self = shared_from_this()] { self->apply(self->machine_.close()); });
}

// ---- carrying out the machine's effects ----------------------------------------------------

void SubscriberImpl::apply(Effects fx, bool defer_wake) {
  if (fx.close_session && session_) {
    session_->close();
    session_.reset();
  }
  if (fx.open_session) {
    const RedisUrl& url = endpoints_[fx.endpoint];
    {
      std::lock_guard lock(info_mu_);
      endpoint_ = url.endpoint();
    }
    session_ = std::make_shared<PubSubSession>(strand_, url, tls_[fx.endpoint], *fx.open_session);
    const auto deadline = SteadyClock::now() + url.pool.connect_timeout;
    asio::co_spawn(strand_, run_session(shared_from_this(), session_, deadline), asio::detached);
  }
  if (!fx.write.empty()) send(std::move(fx.write));
  connected_ = machine_.is_connected();
  reconnects_ = machine_.reconnects();
  if (const auto& e = machine_.last_error()) {
    std::lock_guard lock(info_mu_);
    last_error_ = *e;
  }
  arm_wakeup();
  if (fx.wake && !defer_wake) notify();
}

void SubscriberImpl::arm_wakeup() {
  const auto at = machine_.next_wakeup();
  if (at == wakeup_at_) return;
  wakeup_at_ = at;
  wakeup_.expires_at(at);  // an earlier wait completes with operation_aborted
  if (at == SteadyClock::time_point::max()) return;
  wakeup_.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) { self->on_wakeup(ec); });
}

void SubscriberImpl::on_wakeup(const boost::system::error_code& ec) {
  if (ec) return;
  wakeup_at_ = SteadyClock::time_point::max();
  apply(machine_.on_time(SteadyClock::now()));
}

asio::awaitable<void> SubscriberImpl::run_session(std::shared_ptr<SubscriberImpl> self,
                                                  std::shared_ptr<PubSubSession> session,
                                                  SteadyClock::time_point deadline) {
  const auto id = session->id;
  auto opened = co_await session->link.open(deadline, session);
  if (!opened) {
    self->apply(self->machine_.connect_failed(id, std::move(opened).error(), SteadyClock::now()));
    co_return;
  }
  self->apply(self->machine_.connected(id, SteadyClock::now()));
  std::vector<char> buf(16 * 1024);
  for (;;) {
    // Backpressure: stop reading while the buffer is full (see SubscriberOptions).
    while (!self->machine_.wants_read() && !session->closed) {
      co_await self->wait_for_change(SteadyClock::time_point::max());
    }
    if (session->closed) co_return;
    auto [ec, n] = co_await session->link.async_read_some(asio::buffer(buf), nothrow);
    const auto now = SteadyClock::now();
    if (ec) {
      self->apply(self->machine_.lost(id, session->link.read_error(ec), now));
      co_return;
    }
    // The machine parses (bounded by url.max_reply_bytes) and keeps liveness on complete
    // replies only; waiters are woken once per read, not per reply.
    self->apply(self->machine_.on_bytes(id, buf.data(), n, now), true);
    self->notify();
    if (session->closed) co_return;
  }
}

void SubscriberImpl::send(std::string bytes) {
  if (!session_ || session_->closed) return;
  session_->out.push_back(std::move(bytes));
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
  session->link.async_write(asio::buffer(session->writing),
                            [session](const boost::system::error_code& ec, std::size_t) {
                              // A failed write closes the socket; the reader then reports why.
                              if (ec) {
                                session->write_active = false;
                                session->close();
                                return;
                              }
                              write_next(session);
                            });
}

// ---- operations ---------------------------------------------------------------------------

asio::awaitable<Result<void>> SubscriberImpl::change(std::shared_ptr<SubscriberImpl> self,
                                                     bool pattern, bool add,
                                                     std::vector<std::string> names) {
  auto& machine = self->machine_;
  if (machine.closed()) co_return closed_error();
  if (names.empty() && add) {
    co_return Error(errc::invalid_argument, "subscribe needs at least one name");
  }
  {
    // Refused before anything is sent (Redis's proto-max-bulk-len; hiredis 0.14 would overflow
    // formatting a command of 2 GiB or more).
    std::vector<std::string_view> args{"SUBSCRIBE"};
    args.insert(args.end(), names.begin(), names.end());
    if (FormattedCommand::wire_size(args) > kDefaultMaxCommandBytes) {
      co_return Error(errc::invalid_argument, "subscribe: the names exceed the command size limit");
    }
  }
  const auto errors_before = machine.reply_errors();
  self->apply(machine.change(pattern, add, names));
  if (names.empty()) co_return ok();  // unsubscribe from everything, and there was nothing
  const auto deadline = SteadyClock::now() + self->options_.confirm_timeout;
  for (;;) {
    if (machine.closed()) co_return closed_error();
    if (machine.confirmed(pattern, add, names)) co_return ok();
    if (machine.reply_errors() != errors_before && machine.reply_error()) {
      // Do not resubscribe forever to what the server refuses.
      if (add) machine.forget_unconfirmed(pattern, names);
      co_return machine.reply_error()->with_context(add ? "redis subscribe" : "redis unsubscribe");
    }
    co_await self->wait_for_change(deadline);
    if (SteadyClock::now() >= deadline) {
      std::string msg = std::string(add ? "subscribe" : "unsubscribe") + " not confirmed by " +
                        self->endpoint() + " within " +
                        std::to_string(self->options_.confirm_timeout.count()) + "ms";
      if (auto e = machine.last_error(); e && !machine.is_connected()) {
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
  auto& machine = self->machine_;
  for (;;) {
    if (machine.closed()) co_return closed_error();
    if (machine.has_message()) {
      bool wake = false;
      Message m = machine.pop_message(wake);
      if (wake) self->notify();  // the reader may be waiting for room
      co_return m;
    }
    co_await self->wait_for_change(deadline);
    if (SteadyClock::now() >= deadline && !machine.has_message() && !machine.closed()) {
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
asio::any_io_executor Subscriber::spawn_executor() const {
  return impl_->strand().get_inner_executor();
}

}  // namespace connpool::redis
