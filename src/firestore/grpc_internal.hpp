// Private: the gRPC side of a pooled connection. Only the .cpp files that talk to gRPC include
// this (it pulls in firestore.grpc.pb.h, ~9 s and 500 MB per translation unit).
#pragma once

#include "connpool/core/error.hpp"
#include "connpool/firestore/connector.hpp"
#include "connpool/firestore/options.hpp"

#include "google/firestore/v1/firestore.grpc.pb.h"
#include "inflight_calls.hpp"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace connpool::firestore::detail {

namespace v1 = ::google::firestore::v1;

/// Destroys retired channels a grace period after the pool closed them, on its own thread.
///
/// Why: the pool closes only connections without leases, but gRPC's callback machinery may still
/// be unwinding the last RPC's completion on its own thread (we resume the caller as soon as our
/// callback runs). Destroying the channel then shuts its callback completion queue down under
/// that thread, and grpc 1.51 aborts in grpc_cq_internal_unref. Thread-safe.
class ChannelReaper {
 public:
  ChannelReaper() = default;
  /// Waits for the grace period of the channels still queued, then destroys them.
  ~ChannelReaper();
  ChannelReaper(const ChannelReaper&) = delete;
  ChannelReaper& operator=(const ChannelReaper&) = delete;

  void retire(std::shared_ptr<grpc::Channel> channel,
              std::unique_ptr<v1::Firestore::Stub> stub) noexcept;

 private:
  struct Entry {
    std::chrono::steady_clock::time_point due;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::Firestore::Stub> stub;
  };
  void run();
  static constexpr std::chrono::seconds kGrace{2};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Entry> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

/// What every channel and call of one connector needs; immutable after construction (the
/// reaper is internally synchronized).
struct ConnectorShared {
  FirestoreOptions options;
  std::string database_name;   ///< projects/P/databases/D
  std::string documents_root;  ///< projects/P/databases/D/documents
  std::string target;          ///< host:port channels connect to
  /// Channel credentials, created once: GoogleDefaultCredentials() reads files and env.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  mutable std::atomic<std::uint64_t> next_channel_id{1};
  mutable ChannelReaper reaper;
  /// Unary RPCs not completed yet, cancelled and awaited when the client closes.
  std::shared_ptr<InFlightCalls> calls = std::make_shared<InFlightCalls>();
};

/// RunQuery, GetDocument and BatchGetDocuments registered on a channel, for the calls made without
/// the generated stub: their replies are parsed by wire_document.hpp straight into our Document
/// (the stub's methods are typed on the protobuf messages).
struct WireMethods {
  explicit WireMethods(const std::shared_ptr<grpc::Channel>& channel)
      : run_query("/google.firestore.v1.Firestore/RunQuery",
                  grpc::internal::RpcMethod::SERVER_STREAMING, channel),
        get_document("/google.firestore.v1.Firestore/GetDocument",
                     grpc::internal::RpcMethod::NORMAL_RPC, channel),
        batch_get_documents("/google.firestore.v1.Firestore/BatchGetDocuments",
                            grpc::internal::RpcMethod::SERVER_STREAMING, channel) {}
  grpc::internal::RpcMethod run_query;
  grpc::internal::RpcMethod get_document;
  grpc::internal::RpcMethod batch_get_documents;  // auto-batched gets (batch/auto_batch.cpp)
};

/// One channel: its own HTTP/2 connection, a stub and the wire-parsed methods.
struct ChannelState {
  std::uint64_t id = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Firestore::Stub> stub;
  std::unique_ptr<WireMethods> wire;  // set with stub
  std::shared_ptr<const ConnectorShared> shared;
  /// steady_clock nanoseconds of the last completed RPC (for validate()'s ping_after_idle).
  std::atomic<std::int64_t> last_used_ns{0};
  /// Set when the channel must not be reused.
  std::atomic<bool> broken{false};

  void touch() noexcept {
    last_used_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  }
};

/// Which request field routes the call (x-goog-request-params), as Google's generated clients
/// send it: `name=` for single-document calls, `parent=` for listings and queries,
/// `database=` for database-wide calls.
enum class Routing { name, parent, database };

/// Sets the deadline and the metadata every Firestore call carries: routing headers
/// (`google-cloud-resource-prefix`, `x-goog-request-params`) and, for the emulator,
/// `authorization: Bearer owner`.
void prepare_context(grpc::ClientContext& ctx, const ConnectorShared& shared,
                     std::chrono::system_clock::time_point deadline, Routing routing,
                     std::string_view routing_value);

/// RFC 3986 percent-encoding of everything but unreserved characters (for routing params).
std::string url_encode(std::string_view s);

/// gRPC status code -> connpool::errc.
errc map_status_code(grpc::StatusCode code) noexcept;
/// "firestore GetDocument: NOT_FOUND: <server message>" with the mapped code.
Error status_to_error(const grpc::Status& status, std::string_view rpc);

}  // namespace connpool::firestore::detail
