// Following a Sentinel-monitored master: ask, verify with ROLE, watch +switch-master, poll.
#include "master_tracker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <charconv>
#include <sstream>
#include <string_view>

namespace connpool::redis::detail {

namespace asio = boost::asio;

namespace {

std::string show(const SentinelUrl::Address& a) {
  return a.host + ":" + std::to_string(a.port);
}

// "<name> <old-ip> <old-port> <new-ip> <new-port>" (the +switch-master payload).
std::optional<SentinelUrl::Address> parse_switch(const std::string& payload,
                                                 const std::string& master_name) {
  std::istringstream in(payload);
  std::string name, old_ip, old_port, ip, port;
  if (!(in >> name >> old_ip >> old_port >> ip >> port) || name != master_name) return {};
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || p == 0 || p > 65535) return {};
  return SentinelUrl::Address{ip, static_cast<std::uint16_t>(p)};
}

// The reply to SENTINEL get-master-addr-by-name: [ip, port].
std::optional<SentinelUrl::Address> parse_address(const Reply& reply) {
  const auto& parts = reply.elements();
  if (!reply.is_array() || parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string()) {
    return {};
  }
  unsigned port = 0;
  const auto& p = parts[1].str();
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || port == 0 || port > 65535) return {};
  return SentinelUrl::Address{parts[0].str(), static_cast<std::uint16_t>(port)};
}

}  // namespace

std::shared_ptr<MasterTracker> MasterTracker::create(asio::any_io_executor executor,
                                                     SentinelUrl url) {
  return std::make_shared<MasterTracker>(std::move(executor), std::move(url));
}

MasterTracker::MasterTracker(asio::any_io_executor executor, SentinelUrl url)
    : strand_(asio::make_strand(executor)),
      url_(url),
      poll_timer_(strand_),
      asker_(std::move(url)) {}

void MasterTracker::on_switch(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_switch_ = std::move(fn);
}

std::optional<SentinelUrl::Address> MasterTracker::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void MasterTracker::set_master(const Address& a) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    stale_ = false;
    if (current_ == a) return;
    const bool switched = current_.has_value();
    current_ = a;
    if (!switched) return;
    notify = on_switch_;
  }
  // Retire first, count second: a caller woken by the new count must not find an old
  // connection still in service.
  if (notify) notify();
  switches_.fetch_add(1);
}

void MasterTracker::mark_stale(const Address& a) {
  std::lock_guard lock(mu_);
  if (current_ == a) stale_ = true;
}

void MasterTracker::start() {
  std::vector<RedisUrl> endpoints;
  for (const auto& s : url_.sentinels) endpoints.push_back(url_.sentinel_url(s));
  SubscriberOptions options;
  options.reconnect_backoff_initial = std::chrono::milliseconds(100);
  options.reconnect_backoff_max = std::chrono::milliseconds(1000);
  auto sub = Subscriber::create(strand_, std::move(endpoints), options);
  {
    std::lock_guard lock(mu_);
    if (sub) subscriber_.emplace(std::move(*sub));
  }
  asio::co_spawn(strand_, watch(shared_from_this()), asio::detached);
  if (url_.sentinel_refresh.count() > 0) {
    asio::co_spawn(strand_, poll(shared_from_this()), asio::detached);
  }
}

void MasterTracker::stop() noexcept {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    if (subscriber_) subscriber_->close();
    on_switch_ = nullptr;
  }
  asker_.close();
  asio::post(strand_, [self = shared_from_this()] { self->poll_timer_.cancel(); });
}

asio::awaitable<void> MasterTracker::watch(std::shared_ptr<MasterTracker> self) {
  Subscriber* sub = nullptr;
  {
    std::lock_guard lock(self->mu_);
    if (self->subscriber_) sub = &*self->subscriber_;
  }
  if (sub == nullptr) co_return;
  // Not confirmed (Sentinels down) is fine: the subscription is resent on every reconnect.
  std::vector<std::string> channels{"+switch-master"};
  auto subscribed = co_await sub->subscribe(std::move(channels));
  (void)subscribed;
  while (!self->stopped_) {
    auto m = co_await sub->receive();
    if (!m) {
      if (m.error().is(errc::cancelled)) co_return;
      continue;
    }
    if (m->kind == Message::Kind::reconnected) {
      // A switch may have happened while we were not listening.
      auto refreshed = co_await self->refresh();
      (void)refreshed;  // failed: the poll or the next connect asks again
      continue;
    }
    if (auto a = parse_switch(m->payload, self->url_.master_name)) self->set_master(*a);
  }
}

asio::awaitable<void> MasterTracker::poll(std::shared_ptr<MasterTracker> self) {
  while (!self->stopped_) {
    self->poll_timer_.expires_after(self->url_.sentinel_refresh);
    auto [ec] = co_await self->poll_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (self->stopped_ || ec == asio::error::operation_aborted) continue;
    // Only once the master is known: before that, the first connect asks (both roles).
    if (!self->current()) continue;
    auto refreshed = co_await self->refresh();
    (void)refreshed;  // failed: asked again at the next tick
  }
}

asio::awaitable<Result<SentinelUrl::Address>> MasterTracker::ask_sentinels() {
  const std::array<std::string_view, 3> args{"SENTINEL", "get-master-addr-by-name",
                                             url_.master_name};
  SentinelAsker::Judge judge = [this](const Reply& reply) -> std::string {
    if (parse_address(reply)) return {};
    if (reply.is_nil()) return "does not know master '" + url_.master_name + "'";
    return "answered " + reply.to_display();
  };
  auto asked = co_await asker_.ask(args, std::move(judge));
  if (asked.accepted) co_return *parse_address(*asked.accepted);
  const std::string sentinels = std::to_string(url_.sentinels.size()) + " Sentinel(s)";
  if (asked.answered) {
    co_return Error(errc::not_found, "redis-sentinel: no Sentinel knows master '" +
                                         url_.master_name + "' (asked " + sentinels + ": " +
                                         asked.said + ")");
  }
  co_return Error(errc::unavailable, "redis-sentinel: no Sentinel reachable for master '" +
                                         url_.master_name + "' (" + asked.said + ")");
}

asio::awaitable<Result<SentinelUrl::Address>> MasterTracker::refresh() {
  auto a = co_await ask_sentinels();
  if (a) set_master(*a);
  co_return a;
}

asio::awaitable<bool> MasterTracker::await_switch(std::uint64_t seen,
                                                  std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  while (switches_.load() == seen) {
    if (stopped_ || std::chrono::steady_clock::now() >= deadline) co_return false;
    if (!asking_.exchange(true)) {
      auto refreshed = co_await refresh();
      (void)refreshed;  // failed: asked again after the sleep
      asking_.store(false);
      if (switches_.load() != seen) break;
    }
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return true;
}

asio::awaitable<Result<std::unique_ptr<Connection>>> MasterTracker::connect() {
  auto executor = co_await asio::this_coro::executor;
  Error last(errc::connect_failed, "redis-sentinel: no master");
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<Address> address;
    {
      std::lock_guard lock(mu_);
      if (!stale_) address = current_;
    }
    if (!address) {
      auto asked = co_await ask_sentinels();
      if (!asked) co_return std::move(asked).error();
      address = *asked;
      set_master(*address);
    }
    const RedisUrl url = url_.master_url(*address);
    auto conn = co_await Connection::connect(executor, url);
    if (!conn) {
      // The master may have moved: ask again before giving up.
      mark_stale(*address);
      last = conn.error().with_context("redis-sentinel master '" + url_.master_name + "' at " +
                                       show(*address));
      continue;
    }
    const std::array<std::string_view, 1> role_args{"ROLE"};
    auto role = co_await (*conn)->execute(role_args);
    if (!role) {
      mark_stale(*address);
      last = role.error().with_context("redis-sentinel ROLE on " + show(*address));
      continue;
    }
    const auto& parts = role->elements();
    const std::string what =
        role->is_array() && !parts.empty() ? parts[0].str() : role->to_display();
    if (what == "master") co_return std::move(*conn);
    // A demoted master or a replica: the Sentinels' answer is stale or a switch is underway.
    mark_stale(*address);
    last = Error(errc::connect_failed, "redis-sentinel: " + show(*address) + " (given for '" +
                                           url_.master_name + "') is not a master (ROLE: " + what +
                                           ")");
  }
  co_return last;
}

}  // namespace connpool::redis::detail
