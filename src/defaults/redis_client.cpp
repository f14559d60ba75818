// config::PoolSpec -> redis::Client (moved here from service::Runtime so the default helpers
// share it).
#include "connpool/defaults/clients.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include <algorithm>

namespace connpool::defaults {

Result<redis::Client> make_redis_client(const config::PoolSpec& spec,
                                        const boost::asio::any_io_executor& executor,
                                        core::PoolOptions options) {
  if (spec.redis.url.starts_with("redis-cluster://") ||
      spec.redis.url.starts_with("rediss-cluster://")) {
    return Error(errc::invalid_config,
                 "pools." + spec.name +
                     ".url: a Redis Cluster url needs redis::cluster::ClusterClient, not a "
                     "redis::Client");
  }
  if (redis::SentinelUrl::matches(spec.redis.url)) {
    auto url = redis::SentinelUrl::parse(spec.redis.url);
    if (!url) return std::move(url).error();
    // parse() caps the master pool's reconnect backoff so the pool reaches a promoted replica
    // soon after a failover; the configuration's policy keeps that cap.
    const auto backoff_cap = url->master.pool.reconnect_backoff_max;
    url->master.pool = spec.pool;
    url->master.pool.reconnect_backoff_max = std::min(spec.pool.reconnect_backoff_max, backoff_cap);
    url->master.pool.reconnect_backoff_initial = std::min(
        url->master.pool.reconnect_backoff_initial, url->master.pool.reconnect_backoff_max);
    url->master.pipeline_auto = spec.redis.auto_pipeline;
    if (options.target.empty()) options.target = url->redacted();
    return redis::Client::create(executor, std::move(*url), std::move(options));
  }
  auto url = redis::RedisUrl::parse(spec.redis.url);
  if (!url) return std::move(url).error();
  url->pool = spec.pool;
  url->pipeline_auto = spec.redis.auto_pipeline;
  if (options.target.empty()) options.target = url->redacted();
  return redis::Client::create(executor, *url, std::move(options));
}

}  // namespace connpool::defaults
