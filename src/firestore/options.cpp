#include "connpool/firestore/options.hpp"

#include "connpool/firestore/path.hpp"

#include <cstdlib>

namespace connpool::firestore {

std::string FirestoreOptions::database_name() const {
  return "projects/" + project_id + "/databases/" + database_id;
}

std::string FirestoreOptions::documents_root() const {
  return database_name() + "/documents";
}

std::string FirestoreOptions::target() const {
  return emulator_host.empty() ? endpoint : emulator_host;
}

Result<void> FirestoreOptions::validate() const {
  auto bad = [](std::string msg) { return fail(errc::invalid_config, "firestore: " + msg); };
  if (project_id.empty()) {
    return bad("project_id is empty (set --project or GOOGLE_CLOUD_PROJECT)");
  }
  if (project_id.find('/') != std::string::npos) {
    return bad("project_id \"" + project_id + "\" must not contain '/'");
  }
  if (database_id.empty() || database_id.find('/') != std::string::npos) {
    return bad("database_id \"" + database_id + "\" is empty or contains '/'");
  }
  if (target().empty()) return bad("endpoint is empty");
  if (call_timeout.count() <= 0) return bad("call_timeout must be > 0");
  if (retry.max_attempts < 1) return bad("retry.max_attempts must be >= 1");
  if (retry.multiplier < 1.0) return bad("retry.multiplier must be >= 1");
  if (retry.jitter < 0 || retry.jitter > 1) return bad("retry.jitter must be in [0, 1]");
  if (retry.initial_backoff.count() < 0 || retry.max_backoff < retry.initial_backoff) {
    return bad("retry backoff must satisfy 0 <= initial_backoff <= max_backoff");
  }
  if (transaction_max_attempts < 1) return bad("transaction_max_attempts must be >= 1");
  if (ping_after_idle.count() < 0) return bad("ping_after_idle must be >= 0");
  if (max_reconnect_backoff.count() <= 0) return bad("max_reconnect_backoff must be > 0");
  if (max_listeners == 0) return bad("max_listeners must be > 0");
  if (auto_batch.max_in_flight < 1) return bad("auto_batch.max_in_flight must be >= 1");
  if (auto_batch.max_batch_size < 1 || auto_batch.max_batch_size > 500) {
    return bad("auto_batch.max_batch_size must be in 1..500");
  }
  if (auto p = parse_document_path(health_check_document); !p) {
    return bad("health_check_document: " + p.error().message());
  }
  return ok();
}

Result<FirestoreOptions> FirestoreOptions::from_env() {
  FirestoreOptions o;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  o.emulator_host = env("FIRESTORE_EMULATOR_HOST");
  o.project_id = env("GOOGLE_CLOUD_PROJECT");
  if (o.project_id.empty()) o.project_id = env("GCLOUD_PROJECT");
  if (auto db = env("FIRESTORE_DATABASE"); !db.empty()) o.database_id = db;
  if (o.project_id.empty()) {
    return fail(errc::invalid_config,
                "firestore: no project id: set GOOGLE_CLOUD_PROJECT (or GCLOUD_PROJECT)");
  }
  if (auto v = o.validate(); !v) return std::move(v).error();
  return o;
}

core::PoolConfig default_pool_config() {
  core::PoolConfig c;
  c.min_size = 1;
  c.max_size = 4;
  c.max_leases_per_connection = 100;
  // A gRPC channel heals itself; the pool's checks only need to catch dead or shut-down ones.
  c.validate_after_idle = std::chrono::milliseconds(5000);
  c.health_check_interval = std::chrono::milliseconds(30000);
  return c;
}

}  // namespace connpool::firestore
