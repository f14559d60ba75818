// Client construction, pool selection and the generic/stateful entry points.
#include "connpool/redis/client.hpp"

#include "connpool/redis/sentinel/sentinel_url.hpp"

#include "client_exec.hpp"
#include "client_state.hpp"
#include "sentinel/master_tracker.hpp"

#include <array>
#include <optional>
#include <string>

namespace connpool::redis {

namespace asio = boost::asio;

namespace {

// Both pools of a Client, opened with `connector` (a plain URL's, or one following a master).
Result<std::shared_ptr<detail::ClientState>> make_state(asio::any_io_executor executor,
                                                        const RedisUrl& url,
                                                        core::PoolOptions options,
                                                        const RedisConnector& connector,
                                                        std::string target) {
  auto state = std::make_shared<detail::ClientState>();
  state->url = url;
  state->executor = executor;
  if (options.name.empty() || options.name == "default") options.name = "redis";
  options.backend = "redis";
  options.target = std::move(target);

  core::PoolConfig main = url.pool;
  main.max_leases_per_connection = url.pipeline_auto ? url.pipeline_max_in_flight : 1;
  auto pool = RedisPool::create(executor, connector, main, options);
  if (!pool) return std::move(pool).error().with_context("redis pool '" + options.name + "'");
  state->pool.emplace(std::move(*pool));

  if (url.pipeline_auto) {
    // Stateful work needs a connection of its own; these are opened on demand only.
    core::PoolConfig excl = url.pool;
    excl.max_leases_per_connection = 1;
    excl.min_size = 0;
    excl.min_idle = 0;
    core::PoolOptions excl_options = options;
    excl_options.name += "-exclusive";
    // Its own observer (or none): sharing the main pool's would count its events there.
    excl_options.observer =
        options.observer_factory ? options.observer_factory(excl_options) : nullptr;
    auto exclusive = RedisPool::create(executor, connector, excl, excl_options);
    if (!exclusive) return std::move(exclusive).error();
    state->exclusive.emplace(std::move(*exclusive));
  }
  return state;
}

}  // namespace

Result<Client> Client::create(asio::any_io_executor executor, std::string_view url,
                              core::PoolOptions options) {
  if (SentinelUrl::matches(url)) {
    auto sentinel = SentinelUrl::parse(url);
    if (!sentinel) return std::move(sentinel).error();
    return create(std::move(executor), std::move(*sentinel), std::move(options));
  }
  auto parsed = RedisUrl::parse(url);
  if (!parsed) return std::move(parsed).error();
  return create(std::move(executor), std::move(*parsed), std::move(options));
}

Result<Client> Client::create(asio::any_io_executor executor, SentinelUrl sentinel,
                              core::PoolOptions options) {
  // The pools connect to whatever master (role=replica: healthy replicas) the Sentinels name,
  // verified with ROLE, and are retired, not closed, when the master moves
  // (docs/redis-sentinel.md).
  auto tracker = detail::MasterTracker::create(executor, sentinel);
  RedisConnector connector(sentinel.master, detail::sentinel_connect(tracker));
  auto state =
      make_state(executor, sentinel.master, std::move(options), connector, sentinel.redacted());
  if (!state) return std::move(state).error();
  std::weak_ptr<detail::ClientState> weak = *state;
  tracker->on_switch([weak] {
    if (auto s = weak.lock()) {
      s->pool->retire_all();
      if (s->exclusive) s->exclusive->retire_all();
    }
  });
  tracker->start();
  (*state)->follower = std::make_shared<detail::MasterFollower>(tracker);
  return Client(std::move(*state));
}

Result<Client> Client::create(asio::any_io_executor executor, RedisUrl url,
                              core::PoolOptions options) {
  const RedisConnector connector(url);
  auto state = make_state(executor, url, std::move(options), connector, url.redacted());
  if (!state) return std::move(state).error();
  return Client(std::move(*state));
}

const RedisUrl& Client::url() const noexcept {
  return state_->url;
}
asio::any_io_executor Client::executor() const {
  return state_->executor;
}
RedisPool& Client::pool() const noexcept {
  return state_->shared_pool();
}
RedisPool& Client::exclusive_pool() const noexcept {
  return state_->exclusive_pool();
}

void Client::close_now() noexcept {
  state_->pool->close_now();
  if (state_->exclusive) state_->exclusive->close_now();
}

// Plain functions returning exec()'s awaitable: no frame of their own.
Client::Task<Reply> Client::command(std::span<const std::string_view> args) {
  return exec<Reply>(args, &detail::plain_reply);
}

Client::Task<Reply> Client::run(std::span<const std::string_view> args) {
  return exec<Reply>(args, &detail::checked_reply);
}

Client::Task<Reply> Client::command(std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  co_return co_await command(std::span<const std::string_view>(views));
}

Client::Task<RedisLease> Client::lease() {
  auto lease = co_await state_->exclusive_pool().acquire();
  if (!lease) co_return std::move(lease).error();
  co_return std::move(*lease);
}

Client::Task<Pipeline> Client::pipeline() {
  auto lease = co_await state_->shared_pool().acquire();
  if (!lease) co_return std::move(lease).error();
  co_return Pipeline(std::move(*lease));
}

Client::Task<Transaction> Client::transaction(std::span<const std::string_view> watch_keys) {
  auto lease = co_await state_->exclusive_pool().acquire();
  if (!lease) co_return std::move(lease).error();
  if (watch_keys.empty()) co_return Transaction(std::move(*lease), false);
  std::vector<std::string_view> args;
  args.reserve(watch_keys.size() + 1);
  args.push_back("WATCH");
  args.insert(args.end(), watch_keys.begin(), watch_keys.end());
  auto reply = co_await (*lease)->execute(args);
  if (!reply) {
    lease->discard();
    co_return std::move(reply).error().with_context("redis WATCH");
  }
  if (reply->is_error()) {
    co_return error_reply_to_result(std::move(*reply)).error().with_context("redis WATCH");
  }
  co_return Transaction(std::move(*lease), true);
}

ScanIterator Client::scan(std::string match, std::size_t count) const {
  return ScanIterator(*this, std::move(match), count);
}

asio::awaitable<Result<std::optional<std::vector<std::string>>>> ScanIterator::next() {
  using Batch = std::optional<std::vector<std::string>>;
  if (done_) co_return Batch{};
  std::vector<std::string_view> args{"SCAN", cursor_};
  const std::string count_text = std::to_string(count_);
  if (!match_.empty()) {
    args.push_back("MATCH");
    args.push_back(match_);
  }
  if (count_ > 0) {
    args.push_back("COUNT");
    args.push_back(count_text);
  }
  auto reply = co_await client_.command(std::span<const std::string_view>(args));
  if (!reply) co_return std::move(reply).error().with_context("redis SCAN");
  if (reply->is_error()) {
    co_return error_reply_to_result(std::move(*reply)).error().with_context("redis SCAN");
  }
  auto& parts = reply->elements();
  if (!reply->is_array() || parts.size() != 2 || !parts[0].is_string() || !parts[1].is_array()) {
    co_return Error(errc::protocol_error, "redis SCAN: unexpected reply " + reply->to_display());
  }
  cursor_ = parts[0].take_str();
  done_ = cursor_ == "0";
  std::vector<std::string> keys;
  keys.reserve(parts[1].elements().size());
  for (auto& k : parts[1].elements()) keys.push_back(k.take_str());
  co_return Batch(std::move(keys));
}

}  // namespace connpool::redis
