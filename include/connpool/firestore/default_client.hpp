// The process-wide default Firestore client, as the original system had it:
// get_firestore_pool(), get_document_from_firestore() and query_documents().
//
// DefaultFirestoreRegistry is connpool's only singleton. It reads the same configuration as
// `connpool serve` (connpool/defaults/pool_spec.hpp): the file named by CONNPOOL_CONFIG,
// FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT, CONNPOOL_POOLS__<NAME>__<FIELD> and the
// CONNPOOL_ENV profile; its pool is the one named "firestore" or the only Firestore pool. So a
// production process gets max_size 20 channels, development and staging 10 (min_size 2,
// max_idle_time 300 s, health_check_interval 60 s unless configured). FIRESTORE_DATABASE still
// picks the database when the configuration does not. It owns the io_context thread its pool
// runs on. Services that configure things explicitly should create their own Client instead.
//
// Linking: these functions live in the library connpool::defaults (pkg-config connpool-defaults),
// which sits above connpool::config; the header stays here for existing includes.
//
// Thread safety: every function is safe from any thread except the registry's own io thread
// (the blocking helpers would deadlock there). Lifetime: created on first use; shutdown() (or
// process exit) closes the pool and joins the thread; Client copies handed out stay valid
// objects but fail with errc::pool_closed afterwards.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/firestore/client.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace connpool::firestore {

class DefaultFirestoreRegistry {
 public:
  /// The one instance.
  static DefaultFirestoreRegistry& instance();

  /// The default client, created on the first successful call. A failure (e.g. no project id
  /// configured, or a bad configuration: errc::invalid_config naming where, the key and the
  /// rule) is returned and creation is tried again, from the configuration read afresh, on the
  /// next call.
  Result<Client> client();
  /// Closes the pool (waiting up to 5 s for leases) and stops the io thread. Idempotent; the
  /// next client() starts over from the configuration.
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

/// The original system's query helper on the default client, blocking: documents of
/// `collection` matching every filter (ANDed), at most `limit` of them when given (> 0).
/// Bad input (e.g. an unknown operator) is errc::invalid_argument naming it.
Result<std::vector<Document>> query_documents(std::string_view collection,
                                              std::vector<Filter> filters,
                                              std::optional<std::int32_t> limit = {});

}  // namespace connpool::firestore
