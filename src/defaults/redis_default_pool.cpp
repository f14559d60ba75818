// DefaultRedisRegistry and the original helpers, on the pool the configuration names (see
// connpool/defaults/pool_spec.hpp for which one).
#include "connpool/config/load.hpp"
#include "connpool/defaults/clients.hpp"
#include "connpool/defaults/pool_spec.hpp"
#include "connpool/redis/default_pool.hpp"

namespace connpool::redis {

namespace {

boost::asio::awaitable<Result<Reply>> run_owned(Connection& conn, std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  co_return co_await conn.execute(std::span<const std::string_view>(views));
}
}  // namespace

DefaultRedisRegistry& DefaultRedisRegistry::instance() {
  static DefaultRedisRegistry registry;
  return registry;
}

DefaultRedisRegistry::DefaultRedisRegistry() : work_(io_.get_executor()) {
  thread_ = std::thread([this] { io_.run(); });
}

DefaultRedisRegistry::~DefaultRedisRegistry() {
  shutdown();
}

Result<Client> DefaultRedisRegistry::client() {
  std::lock_guard lock(mu_);
  if (shut_down_) return Error(errc::pool_closed, "the default redis registry was shut down");
  if (client_) return *client_;
  // Read afresh on every attempt, so a fixed configuration takes effect without a restart.
  auto spec =
      defaults::load_default_pool_spec(config::process_environment(), config::Backend::redis);
  if (!spec) return std::move(spec).error();
  if (url_override_) spec->redis.url = *url_override_;
  core::PoolOptions options;
  options.name = "redis-default";
  options.backend = "redis";
  auto created = defaults::make_redis_client(*spec, io_.get_executor(), std::move(options));
  if (!created) {
    const std::string source =
        url_override_ ? "DefaultRedisRegistry::configure()" : spec->origin_of("url").to_string();
    return std::move(created).error().with_context("the default redis pool (url from " + source +
                                                   ")");
  }
  client_.emplace(std::move(*created));
  return *client_;
}

void DefaultRedisRegistry::reset() noexcept {
  std::optional<Client> closing;
  {
    std::lock_guard lock(mu_);
    closing = std::move(client_);
    client_.reset();
    url_override_.reset();
  }
  if (closing) closing->close_now();
}

Result<void> DefaultRedisRegistry::configure(std::string_view url) {
  if (auto parsed = RedisUrl::parse(url); !parsed) return std::move(parsed).error();
  std::lock_guard lock(mu_);
  if (client_) {
    client_->close_now();
    client_.reset();
  }
  url_override_ = std::string(url);
  return ok();
}

void DefaultRedisRegistry::shutdown() noexcept {
  std::optional<Client> closing;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    closing = std::move(client_);
    client_.reset();
  }
  if (closing) closing->close_now();
  closing.reset();
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

Result<Client> get_redis_pool() {
  return DefaultRedisRegistry::instance().client();
}

Result<std::optional<std::string>> redis_get(std::string_view key) {
  auto client = get_redis_pool();
  if (!client) return std::move(client).error();
  return client->wait(client->get(key));
}

Result<bool> redis_set(std::string_view key, std::string_view value, std::chrono::seconds ex) {
  auto client = get_redis_pool();
  if (!client) return std::move(client).error();
  SetOptions options;
  options.ex = ex;
  return client->wait(client->set(key, value, options));
}

Result<PooledConnection> PooledConnection::acquire() {
  auto client = get_redis_pool();
  if (!client) return std::move(client).error();
  auto lease = client->wait(client->lease());
  if (!lease) return std::move(lease).error();
  return PooledConnection(std::move(*client), std::move(*lease));
}

Result<Reply> PooledConnection::command(std::vector<std::string> args) {
  if (!lease_) return Error(errc::invalid_argument, "PooledConnection was discarded");
  auto reply = client_.wait(run_owned(*lease_, std::move(args)));
  if (!reply && (reply.error().is(errc::io_error) || reply.error().is(errc::timeout) ||
                 reply.error().is(errc::protocol_error))) {
    lease_.discard();
  }
  return reply;
}

}  // namespace connpool::redis
