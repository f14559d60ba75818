// config::PoolSpec -> firestore::Client, shared by the default helpers and service::Runtime
// (see clients.hpp for the Redis counterpart).
// Thread safety: reentrant.
#pragma once

#include "connpool/config/config.hpp"
#include "connpool/core/pool.hpp"
#include "connpool/firestore/client.hpp"

#include <boost/asio/any_io_executor.hpp>

namespace connpool::defaults {

/// A firestore::Client for a Firestore pool: its project, database and emulator host, and its
/// pool policy. `options.target`, when empty, becomes "<host> projects/P/databases/D".
Result<firestore::Client> make_firestore_client(const config::PoolSpec& spec,
                                                const boost::asio::any_io_executor& executor,
                                                core::PoolOptions options);

}  // namespace connpool::defaults
