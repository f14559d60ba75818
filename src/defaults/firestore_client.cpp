// config::PoolSpec -> firestore::Client (moved here from service::Runtime).
#include "connpool/defaults/firestore_client.hpp"

namespace connpool::defaults {

Result<firestore::Client> make_firestore_client(const config::PoolSpec& spec,
                                                const boost::asio::any_io_executor& executor,
                                                core::PoolOptions options) {
  firestore::FirestoreOptions fo;
  fo.project_id = spec.firestore.project_id;
  fo.database_id = spec.firestore.database;
  fo.emulator_host = spec.firestore.emulator_host;
  fo.auto_batch.enabled = spec.firestore.auto_batch;
  if (options.target.empty()) {
    options.target = (fo.emulator_host.empty() ? fo.endpoint : fo.emulator_host) + " projects/" +
                     fo.project_id + "/databases/" + fo.database_id;
  }
  return firestore::Client::create(executor, std::move(fo), spec.pool, std::move(options));
}

}  // namespace connpool::defaults
