#include "connpool/redis/default_pool.hpp"

#include <cstdlib>

namespace connpool::redis {

namespace {
constexpr const char* kDefaultUrl = "redis://127.0.0.1:6379";

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
  std::string url = kDefaultUrl;
  if (url_override_) {
    url = *url_override_;
  } else if (const char* env = std::getenv("REDIS_URL"); env != nullptr && *env != '\0') {
    url = env;
  }
  core::PoolOptions options;
  options.name = "redis-default";
  auto created = Client::create(io_.get_executor(), url, options);
  if (!created) return std::move(created).error().with_context("REDIS_URL");
  client_.emplace(std::move(*created));
  return *client_;
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
