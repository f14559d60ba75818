// FirestoreOptions: where to connect and how each RPC behaves (deadline, retries).
#pragma once

#include "connpool/core/pool_config.hpp"
#include "connpool/core/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace connpool::firestore {

using std::chrono::milliseconds;

/// Exponential backoff with jitter for retried RPCs. Plain aggregate.
struct RetryPolicy {
  /// Attempts per call, the first included. Default 5. 1 means: never retry.
  int max_attempts = 5;
  /// Wait before the first retry. Default 50 ms.
  milliseconds initial_backoff{50};
  /// Cap on one wait. Default 2000 ms.
  milliseconds max_backoff{2000};
  /// Growth of the wait per retry. Default 2.0.
  double multiplier = 2.0;
  /// Each wait is spread uniformly over [wait * (1 - jitter), wait * (1 + jitter)]. Default 0.5.
  double jitter = 0.5;
};

/// Auto-batching of concurrent single-document calls outside transactions (docs/firestore.md,
/// "Auto-batching"): while `max_in_flight` gets (or writes) of one client are in flight, further
/// ones queue and go out together as one BatchGetDocuments (or BatchWrite) when one of those
/// ends. At low load nothing queues and each call is its own GetDocument / Commit. Each caller
/// gets what its own call would have returned. Plain aggregate.
struct AutoBatchOptions {
  /// Default true. false: every get and write is its own RPC.
  bool enabled = true;
  /// RPCs of one kind (gets; writes) in flight before further calls queue. Default 4. Must be
  /// >= 1.
  std::size_t max_in_flight = 4;
  /// Most distinct documents in one batch. Default 100. 1..500 (BatchWrite's limit).
  std::size_t max_batch_size = 100;
};

/// Connection and call settings. Plain aggregate; `validate()` checks it.
struct FirestoreOptions {
  /// Google Cloud project id. Required.
  std::string project_id;
  /// Database id. Default "(default)".
  std::string database_id = "(default)";
  /// "host:port" of the emulator. Non-empty means: insecure channel and the emulator's
  /// `authorization: Bearer owner`. Empty (default) means production.
  std::string emulator_host;
  /// Production endpoint (TLS + Google default credentials). Default firestore.googleapis.com:443.
  std::string endpoint = "firestore.googleapis.com:443";

  /// Deadline of one whole call, retries included. Default 30000 ms. Must be > 0.
  milliseconds call_timeout{30000};
  /// Retry policy for idempotent calls (reads, queries, listings, rollbacks) on UNAVAILABLE,
  /// RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED. Writes are never retried automatically.
  RetryPolicy retry;
  /// Attempts of a transaction function when the commit is ABORTED by contention. Default 5.
  int transaction_max_attempts = 5;

  /// validate() sends a ping RPC only when the channel has been unused for this long; otherwise
  /// it trusts the channel's connectivity state. Default 30000 ms. 0 means: always ping.
  milliseconds ping_after_idle{30000};
  /// connect() proves the channel end to end (TCP, TLS, credentials) with a ping RPC. Default
  /// true. The ping reads a document that does not exist (`health_check_document`): in
  /// production that is billed as one read per new channel and per idle validation.
  bool ping_on_connect = true;
  /// Document the ping reads. Default "_connpool/ping" (need not exist).
  std::string health_check_document = "_connpool/ping";
  /// gRPC reconnect backoff cap for a channel that lost its connection. Default 1000 ms: after a
  /// server restart, channels are usable again within about this long.
  milliseconds max_reconnect_backoff{1000};
  /// Real-time listeners open at once on this client's pool. Each holds one channel lease while
  /// its stream is up, so keep it below max_size * max_leases_per_connection to leave room for
  /// other calls. Default 200. Must be > 0.
  std::size_t max_listeners = 200;
  /// Concurrent get_document / set / create / update / delete / transform calls sent together
  /// (see AutoBatchOptions). Default on.
  AutoBatchOptions auto_batch;

  /// "projects/P/databases/D".
  [[nodiscard]] std::string database_name() const;
  /// "projects/P/databases/D/documents".
  [[nodiscard]] std::string documents_root() const;
  /// Where channels connect: the emulator host or the endpoint.
  [[nodiscard]] std::string target() const;

  /// Checks the fields; errc::invalid_config names the field.
  [[nodiscard]] Result<void> validate() const;

  /// Options from the environment: FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT (or
  /// GCLOUD_PROJECT), FIRESTORE_DATABASE (optional). Fails when no project id is set.
  static Result<FirestoreOptions> from_env();
};

/// Pool settings that suit gRPC channels: up to 4 channels of 100 concurrent RPCs each
/// (gRPC's default per-connection stream limit), one opened at start.
core::PoolConfig default_pool_config();

}  // namespace connpool::firestore
