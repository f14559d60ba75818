// FirestoreConnector: channels, their health, and the ping RPC.
#include "connpool/firestore/connector.hpp"

#include "grpc_internal.hpp"
#include "rpc_bridge.hpp"
#include <absl/synchronization/mutex.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <mutex>

namespace connpool::firestore {

namespace detail {
namespace {

// gRPC locks absl::Mutex several times per RPC. An Abseil built without NDEBUG (Debian's is)
// checks every lock for deadlock cycles in a process-wide graph behind its own global lock: in a
// profile of `connpool bench firestore`, 3-4 % of the client's CPU went to GraphCycles alone.
// Upstream gRPC builds have the check off; so do we, once, for the whole process (it is a
// debugging aid that aborts, never a behaviour a program relies on).
void skip_abseil_deadlock_detection() {
  static std::once_flag once;
  std::call_once(once, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
}

std::shared_ptr<const ConnectorShared> make_shared_state(FirestoreOptions options) {
  skip_abseil_deadlock_detection();
  auto s = std::make_shared<ConnectorShared>();
  s->database_name = options.database_name();
  s->documents_root = options.documents_root();
  s->target = options.target();
  s->credentials = options.emulator_host.empty() ? grpc::GoogleDefaultCredentials()
                                                 : grpc::InsecureChannelCredentials();
  s->options = std::move(options);
  return s;
}

/// One RPC that proves the channel works end to end: read a document that need not exist.
/// OK and NOT_FOUND both mean the server answered.
boost::asio::awaitable<Result<void>> ping(ChannelState& ch, std::chrono::milliseconds timeout,
                                          errc failure_code) {
  const auto& shared = *ch.shared;
  grpc::ClientContext ctx;
  v1::GetDocumentRequest req;
  req.set_name(shared.documents_root + "/" + shared.options.health_check_document);
  req.mutable_mask();  // an empty mask: no field data comes back
  prepare_context(ctx, shared, std::chrono::system_clock::now() + timeout, Routing::name,
                  req.name());
  v1::Document resp;
  auto status = co_await async_unary(
      ctx, [&](auto done) { ch.stub->async()->GetDocument(&ctx, &req, &resp, std::move(done)); },
      shared.calls);
  if (status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND) {
    ch.touch();
    co_return ok();
  }
  auto err = status_to_error(status, "ping");
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // The deadline is the pool's connect/validation deadline (or call_timeout): say so.
    failure_code =
        failure_code == errc::connect_failed ? errc::connect_timeout : errc::validation_timeout;
  }
  co_return Error(failure_code, err.message() + " (target " + shared.target + ")");
}

}  // namespace
}  // namespace detail

FirestoreConnection::FirestoreConnection(std::unique_ptr<detail::ChannelState> state) noexcept
    : state_(std::move(state)) {}
FirestoreConnection::~FirestoreConnection() = default;
std::uint64_t FirestoreConnection::id() const noexcept {
  return state_->id;
}

FirestoreConnector::FirestoreConnector(FirestoreOptions options)
    : shared_(detail::make_shared_state(std::move(options))) {}

const FirestoreOptions& FirestoreConnector::options() const noexcept {
  return shared_->options;
}

namespace {
// The ping's gRPC deadline: the pool's deadline, never more than call_timeout.
std::chrono::milliseconds ping_budget(const FirestoreOptions& options, core::Deadline deadline) {
  return std::max(std::chrono::milliseconds(1),
                  std::min(options.call_timeout, deadline.remaining()));
}
}  // namespace

boost::asio::awaitable<Result<std::unique_ptr<FirestoreConnection>>> FirestoreConnector::connect() {
  return connect(core::Deadline::after(shared_->options.call_timeout));
}

boost::asio::awaitable<Result<void>> FirestoreConnector::validate(FirestoreConnection& conn) {
  return validate(conn, core::Deadline::after(shared_->options.call_timeout));
}

boost::asio::awaitable<Result<std::unique_ptr<FirestoreConnection>>> FirestoreConnector::connect(
    core::Deadline deadline) {
  auto shared = shared_;  // keep the state alive in the coroutine frame
  auto st = std::make_unique<detail::ChannelState>();
  st->id = shared->next_channel_id.fetch_add(1, std::memory_order_relaxed);
  st->shared = shared;

  grpc::ChannelArguments args;
  // Each pooled channel must own its HTTP/2 connection: by default gRPC shares one subchannel
  // (one TCP connection) among all channels with equal arguments to the same target.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("grpc.connpool.channel_id", static_cast<int>(st->id));
  // Retries are ours (idempotent calls only); gRPC's transparent retries would double them.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // No channelz: its per-call counters and call tracing are work on every RPC for a debugging
  // service nothing here exposes (issue 19, CPU per operation).
  args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // After a server restart, come back quickly instead of gRPC's default 120 s backoff cap.
  const int max_backoff = static_cast<int>(shared->options.max_reconnect_backoff.count());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_backoff));
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC 1.51 also uses it as the minimum time one
  // connection attempt may take, and 100 ms made a loaded emulator's handshake "time out before
  // receiving SETTINGS frame". The pool's connect_timeout bounds the whole connect instead.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 * 1024 * 1024);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "connpool-firestore/0.1");
  st->channel = grpc::CreateCustomChannel(shared->target, shared->credentials, args);
  if (!st->channel) {
    co_return fail(errc::connect_failed, "firestore: cannot create a channel to " + shared->target);
  }
  st->stub = detail::v1::Firestore::NewStub(st->channel);
  st->wire = std::make_unique<detail::WireMethods>(st->channel);
  st->channel->GetState(/*try_to_connect=*/true);
  if (shared->options.ping_on_connect) {
    // Bounded by gRPC's own deadline: the pool's connect deadline or call_timeout.
    auto r =
        co_await detail::ping(*st, ping_budget(shared->options, deadline), errc::connect_failed);
    if (!r) co_return std::move(r).error();
  }
  st->touch();
  co_return std::make_unique<FirestoreConnection>(std::move(st));
}

boost::asio::awaitable<Result<void>> FirestoreConnector::validate(FirestoreConnection& conn,
                                                                  core::Deadline deadline) {
  auto& st = conn.state();
  const auto state = st.channel->GetState(/*try_to_connect=*/false);
  if (state == GRPC_CHANNEL_SHUTDOWN) {
    co_return fail(errc::validation_failed,
                   "firestore channel " + std::to_string(st.id) + " is shut down");
  }
  if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    co_return fail(errc::validation_failed, "firestore channel " + std::to_string(st.id) + " to " +
                                                st.shared->target + " is in TRANSIENT_FAILURE");
  }
  const auto idle = std::chrono::steady_clock::now().time_since_epoch().count() -
                    st.last_used_ns.load(std::memory_order_relaxed);
  if (idle >= std::chrono::nanoseconds(st.shared->options.ping_after_idle).count()) {
    co_return co_await detail::ping(st, ping_budget(st.shared->options, deadline),
                                    errc::validation_failed);
  }
  co_return ok();
}

bool FirestoreConnector::recycle(FirestoreConnection& conn) noexcept {
  auto& st = conn.state();
  if (st.broken.load(std::memory_order_relaxed)) return false;
  // A channel in TRANSIENT_FAILURE is kept: gRPC reconnects it by itself, and RPCs on it fail
  // fast with UNAVAILABLE meanwhile, which is the clearest signal callers can get.
  return st.channel->GetState(false) != GRPC_CHANNEL_SHUTDOWN;
}

void FirestoreConnector::close(FirestoreConnection& conn) noexcept {
  // Not destroyed here: see ChannelReaper for why the channel outlives its close by a moment.
  auto& st = conn.state();
  st.shared->reaper.retire(std::move(st.channel), std::move(st.stub));
}

namespace detail {

void ChannelReaper::retire(std::shared_ptr<grpc::Channel> channel,
                           std::unique_ptr<v1::Firestore::Stub> stub) noexcept {
  try {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_.push_back(
        Entry{std::chrono::steady_clock::now() + kGrace, std::move(channel), std::move(stub)});
  } catch (...) {
    // No memory or no thread: keep the channel for the rest of the process rather than risk
    // the race described above (a leaked idle channel, not a crash).
    (void)new std::shared_ptr<grpc::Channel>(std::move(channel));  // NOLINT: deliberate
    (void)stub.release();                                          // NOLINT: deliberate
    return;
  }
  cv_.notify_one();
}

void ChannelReaper::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      cv_.wait(lock);
      continue;
    }
    const auto due = queue_.front().due;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    Entry e = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    e.stub.reset();
    e.channel.reset();
    lock.lock();
  }
}

ChannelReaper::~ChannelReaper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace detail

}  // namespace connpool::firestore
