// FirestoreConnector: the pool-core Connector for Firestore. One pooled connection is one gRPC
// channel with its own HTTP/2 connection (channels never share a subchannel) plus a stub; with
// PoolConfig::max_leases_per_connection > 1 many concurrent RPCs share one channel.
//
// Most code never touches this directly: firestore::Client owns a Pool<FirestoreConnector>.
#pragma once

#include "connpool/core/connector.hpp"
#include "connpool/core/result.hpp"
#include "connpool/firestore/options.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>

namespace connpool::firestore {

namespace detail {
struct ChannelState;  // gRPC channel + stub; defined in src/firestore (keeps gRPC headers out)
struct ConnectorShared;
}  // namespace detail

/// One pooled gRPC channel. Opaque: the generated gRPC headers stay out of public headers.
///
/// Thread safety: safe for concurrent RPCs (gRPC channels and stubs are thread-safe).
/// Lifetime: owned by the pool; a lease must not be used after it is released.
class FirestoreConnection {
 public:
  explicit FirestoreConnection(std::unique_ptr<detail::ChannelState> state) noexcept;
  ~FirestoreConnection();
  FirestoreConnection(const FirestoreConnection&) = delete;
  FirestoreConnection& operator=(const FirestoreConnection&) = delete;

  /// A process-unique number, for logs and tests.
  [[nodiscard]] std::uint64_t id() const noexcept;
  /// Internal state used by the client implementation.
  [[nodiscard]] detail::ChannelState& state() noexcept { return *state_; }

 private:
  std::unique_ptr<detail::ChannelState> state_;
};

/// Opens, checks and closes channels.
///
/// - connect(): creates the channel (insecure + `Bearer owner` for the emulator, TLS + Google
///   default credentials in production) and, with `ping_on_connect`, proves it with one RPC.
///   Errors: connect_failed (with gRPC's reason), invalid_config.
/// - validate(): fails when the channel is shut down or in TRANSIENT_FAILURE; pings when the
///   channel has been unused for `ping_after_idle`.
/// - recycle(): false once the channel is shut down or was marked broken. A channel whose
///   server went away is kept: gRPC reconnects it (backoff capped by max_reconnect_backoff).
/// - close(): drops the channel; never blocks.
///
/// Deadlines: connect(deadline) and validate(conn, deadline) give their ping RPC the earlier of
/// the deadline and `call_timeout` as its gRPC deadline, which gRPC enforces on its own threads;
/// the pool never cancels them (docs/adr/0001-async-model.md). connect() / validate(conn) use
/// `call_timeout` alone. Per-operation cancellation from a caller's own strand still cancels
/// the RPC (grpc::ClientContext::TryCancel). Thread safety: all members are safe from any
/// thread; copies share their state.
class FirestoreConnector {
 public:
  using connection_type = FirestoreConnection;

  /// Options are not validated here; Client::create() does that.
  explicit FirestoreConnector(FirestoreOptions options);

  boost::asio::awaitable<Result<std::unique_ptr<FirestoreConnection>>> connect(
      core::Deadline deadline);
  boost::asio::awaitable<Result<void>> validate(FirestoreConnection& conn, core::Deadline deadline);
  boost::asio::awaitable<Result<std::unique_ptr<FirestoreConnection>>> connect();
  boost::asio::awaitable<Result<void>> validate(FirestoreConnection& conn);
  bool recycle(FirestoreConnection& conn) noexcept;
  void close(FirestoreConnection& conn) noexcept;

  [[nodiscard]] const FirestoreOptions& options() const noexcept;
  /// Internal state shared with the client implementation.
  [[nodiscard]] const std::shared_ptr<const detail::ConnectorShared>& shared() const noexcept {
    return shared_;
  }

 private:
  std::shared_ptr<const detail::ConnectorShared> shared_;
};

static_assert(core::Connector<FirestoreConnector>);

}  // namespace connpool::firestore
