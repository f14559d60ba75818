// The process-wide default Firestore client, as the original system had it:
// get_firestore_pool() and get_document_from_firestore().
//
// DefaultFirestoreRegistry is connpool's only singleton. It is configured from the environment
// (FirestoreOptions::from_env(): FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT,
// FIRESTORE_DATABASE) with default_pool_config(), and owns the io_context thread its pool runs
// on. Services that configure things explicitly should create their own Client instead.
//
// Thread safety: every function is safe from any thread except the registry's own io thread
// (the blocking helpers would deadlock there). Lifetime: created on first use; shutdown() (or
// process exit) closes the pool and joins the thread; Client copies handed out stay valid
// objects but fail with errc::pool_closed afterwards.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/firestore/client.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace connpool::firestore {

class DefaultFirestoreRegistry {
 public:
  /// The one instance.
  static DefaultFirestoreRegistry& instance();

  /// The default client, created on the first successful call. A failure (e.g. no project id
  /// in the environment) is returned and creation is tried again on the next call.
  Result<Client> client();
  /// Closes the pool (waiting up to 5 s for leases) and stops the io thread. Idempotent.
  void shutdown();

  ~DefaultFirestoreRegistry();
  DefaultFirestoreRegistry(const DefaultFirestoreRegistry&) = delete;
  DefaultFirestoreRegistry& operator=(const DefaultFirestoreRegistry&) = delete;

 private:
  DefaultFirestoreRegistry();
  struct State;
  std::mutex mu_;
  std::unique_ptr<State> state_;
};

/// The default pooled client (see DefaultFirestoreRegistry).
Result<Client> get_firestore_pool();

/// Reads `collection/doc_id` through the default client, blocking: the document, nullopt when
/// it does not exist, or an error. Note the original system's argument order (id first).
Result<std::optional<Document>> get_document_from_firestore(std::string_view doc_id,
                                                            std::string_view collection);

}  // namespace connpool::firestore
