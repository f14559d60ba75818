// Clients from a configured pool spec: the one place that turns a config::PoolSpec into a
// running redis::Client, used by the default helpers and by service::Runtime alike, so both
// apply a configuration the same way.
//
// The configuration's pool policy (defaults < profile < file < env < flags) is the one that
// counts; the URL contributes endpoints, credentials, TLS and its kind's own options.
// Thread safety: reentrant.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/core/pool.hpp"
#include "connpool/redis/client.hpp"

#include <boost/asio/any_io_executor.hpp>

namespace connpool::defaults {

/// A redis::Client for a Redis pool whose url is redis://, rediss://, unix:// or
/// redis-sentinel:// (a cluster url needs redis::cluster::ClusterClient: errc::invalid_config).
/// `options.target`, when empty, becomes the url without its password.
Result<redis::Client> make_redis_client(const config::PoolSpec& spec,
                                        const boost::asio::any_io_executor& executor,
                                        core::PoolOptions options);

}  // namespace connpool::defaults
