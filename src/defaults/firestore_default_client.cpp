// DefaultFirestoreRegistry: the only singleton, owning its io_context thread, on the pool the
// configuration names (see connpool/defaults/pool_spec.hpp for which one).
#include "connpool/config/load.hpp"
#include "connpool/defaults/firestore_client.hpp"
#include "connpool/defaults/pool_spec.hpp"
#include "connpool/firestore/default_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace connpool::firestore {

struct DefaultFirestoreRegistry::State {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  std::optional<Client> client;
};

DefaultFirestoreRegistry::DefaultFirestoreRegistry() = default;

DefaultFirestoreRegistry::~DefaultFirestoreRegistry() {
  shutdown();
}

DefaultFirestoreRegistry& DefaultFirestoreRegistry::instance() {
  static DefaultFirestoreRegistry registry;
  return registry;
}

Result<Client> DefaultFirestoreRegistry::client() {
  std::lock_guard lock(mu_);
  if (state_ && state_->client) return *state_->client;
  auto spec =
      defaults::load_default_pool_spec(config::process_environment(), config::Backend::firestore);
  if (!spec) return std::move(spec).error();
  // FirestoreOptions::from_env() read FIRESTORE_DATABASE before the helpers followed the
  // configuration; it still applies where the configuration leaves the database at its default.
  if (const char* db = std::getenv("FIRESTORE_DATABASE");
      db != nullptr && *db != '\0' &&
      spec->origin_of("database").kind == config::Origin::Kind::builtin) {
    spec->firestore.database = db;
  }
  if (!state_) {
    state_ = std::make_unique<State>();
    state_->thread = std::thread([s = state_.get()] { s->io.run(); });
  }
  core::PoolOptions pool_options;
  pool_options.name = "firestore-default";
  pool_options.backend = "firestore";
  auto c =
      defaults::make_firestore_client(*spec, state_->io.get_executor(), std::move(pool_options));
  if (!c) return std::move(c).error().with_context("the default firestore pool");
  state_->client = *c;
  return *c;
}

void DefaultFirestoreRegistry::shutdown() {
  std::unique_ptr<State> s;
  {
    std::lock_guard lock(mu_);
    s = std::move(state_);
  }
  if (!s) return;
  if (s->client) {
    if (s->thread.joinable() && s->thread.get_id() != std::this_thread::get_id()) {
      s->client->pool().close_blocking(std::chrono::seconds(5));
    } else {
      s->client->pool().close_now();
    }
    s->client.reset();
  }
  s->work.reset();
  s->io.stop();
  if (s->thread.joinable()) {
    if (s->thread.get_id() == std::this_thread::get_id()) {
      s->thread.detach();
    } else {
      s->thread.join();
    }
  }
}

Result<Client> get_firestore_pool() {
  return DefaultFirestoreRegistry::instance().client();
}

Result<std::optional<Document>> get_document_from_firestore(std::string_view doc_id,
                                                            std::string_view collection) {
  auto c = get_firestore_pool();
  if (!c) return std::move(c).error();
  return c->blocking().get_document(std::string(collection), std::string(doc_id));
}

Result<std::vector<Document>> query_documents(std::string_view collection,
                                              std::vector<Filter> filters,
                                              std::optional<std::int32_t> limit) {
  if (limit && *limit <= 0) {
    return Error(errc::invalid_argument,
                 "query_documents: limit must be > 0, got " + std::to_string(*limit));
  }
  auto c = get_firestore_pool();
  if (!c) return std::move(c).error();
  return c->blocking().query_documents(std::string(collection), std::move(filters), {}, limit);
}

}  // namespace connpool::firestore
