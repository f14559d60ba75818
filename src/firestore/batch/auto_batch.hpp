// Private: auto-batching of one client's concurrent single-document calls (issue 19; see
// batch_queue.hpp for when a call queues, docs/firestore.md "Auto-batching" for what callers
// see). Gets outside transactions go out together as one BatchGetDocuments, single writes
// outside transactions as one BatchWrite. Each caller still gets exactly its own result.
#pragma once

#include "connpool/firestore/client.hpp"

#include "batch_queue.hpp"
#include "waiter.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace connpool::firestore::detail {

struct ClientImpl;

struct GetEntry {
  std::string key;  // the document's full name
  std::shared_ptr<Waiter<std::optional<Document>>> waiter;
};

struct WriteEntry {
  std::string key;  // the document's path
  Write write;
  std::shared_ptr<Waiter<WriteResult>> waiter;
};

/// One per client with auto-batching on. Thread-safe: the queues are guarded by `mu`.
struct AutoBatcher {
  explicit AutoBatcher(const AutoBatchOptions& o)
      : gets(o.max_in_flight, o.max_batch_size, Duplicates::merge),
        writes(o.max_in_flight, o.max_batch_size, Duplicates::defer) {}

  std::mutex mu;
  BatchQueue<GetEntry> gets;      // guarded by mu
  BatchQueue<WriteEntry> writes;  // guarded by mu

  std::atomic<std::uint64_t> get_batches{0};
  std::atomic<std::uint64_t> batched_gets{0};
  std::atomic<std::uint64_t> write_batches{0};
  std::atomic<std::uint64_t> batched_writes{0};

  [[nodiscard]] AutoBatchStats stats() const noexcept {
    constexpr auto r = std::memory_order_relaxed;
    return {get_batches.load(r), batched_gets.load(r), write_batches.load(r),
            batched_writes.load(r)};
  }
};

/// get_document outside a transaction, `name` already validated ("projects/.../documents/c/d").
Task<std::optional<Document>> batched_get(std::shared_ptr<ClientImpl> impl, std::string name);

/// A single write outside a transaction, its path already validated.
Task<WriteResult> batched_write(std::shared_ptr<ClientImpl> impl, Write write);

}  // namespace connpool::firestore::detail
