// Client::listen() and the driver of one listener: a coroutine on a strand of the pool's
// executor that holds a channel lease, runs a Listen stream, feeds WatchFsm, hands consistent
// snapshots to the consumer through a bounded buffer, and reconnects with core::Backoff,
// resuming from the last delivered snapshot's token.
//
// Cancellation rule: the driver is only ever stopped through thread-safe means: close() sets a
// flag under the mutex, calls ClientContext::TryCancel() on the open stream (thread-safe) and
// posts the cancellation of the backoff timer to the driver's strand. No asio cancellation signal
// crosses executors.
#include "../client_impl.hpp"
#include "../convert.hpp"
#include "listen_call.hpp"
#include "watch_fsm.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <deque>

namespace connpool::firestore {
namespace detail {

struct ListenerImpl : std::enable_shared_from_this<ListenerImpl> {
  ListenerImpl(std::shared_ptr<ClientImpl> c, v1::Target t, DocumentOrder order, ListenOptions o)
      : client(std::move(c)),
        strand(boost::asio::make_strand(client->pool->executor())),
        timer(strand),
        target(std::move(t)),
        fsm(std::move(order)),
        opts(o) {}

  // Fixed at construction, or (timer, fsm) touched only on the strand.
  std::shared_ptr<ClientImpl> client;
  boost::asio::strand<boost::asio::any_io_executor> strand;
  boost::asio::steady_timer timer;  // strand only
  v1::Target target;
  WatchFsm fsm;  // strand only
  ListenOptions opts;
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<bool> holds_slot{true};

  // Shared between the driver and the consumer.
  std::mutex mu;
  std::deque<Snapshot> buffer;
  std::optional<Error> terminal;
  bool closed = false;
  std::shared_ptr<ListenCall> call;
  Signal ready;  // the consumer's wake-up

  void release_slot() noexcept {
    if (holds_slot.exchange(false)) client->open_listeners.fetch_sub(1);
  }

  bool is_closed() {
    std::lock_guard lock(mu);
    return closed;
  }

  /// Stops the listener; next() then fails with `why` (unless it already ended otherwise).
  void close(const Error& why = Error(errc::cancelled, "firestore listener: closed")) noexcept {
    std::shared_ptr<ListenCall> c;
    {
      std::lock_guard lock(mu);
      if (closed) return;
      closed = true;
      c = call;
      buffer.clear();
      if (!terminal) terminal = why;
    }
    if (c) c->cancel();  // TryCancel: thread-safe
    release_slot();
    boost::asio::post(strand, [self = shared_from_this()] { self->timer.cancel(); });
    ready.signal();
  }

  /// The driver stops with `err` (delivered after the buffered snapshots).
  void finish(Error err) {
    {
      std::lock_guard lock(mu);
      if (!terminal) terminal = std::move(err);
    }
    release_slot();
    ready.signal();
  }

  /// Queues a snapshot; false when the listener must stop (closed, or the consumer fell behind).
  bool deliver(Snapshot snap) {
    {
      std::lock_guard lock(mu);
      if (closed) return false;
      if (buffer.size() >= opts.max_buffered_snapshots) {
        terminal =
            Error(errc::resource_exhausted,
                  "firestore listener: the consumer fell behind (" + std::to_string(buffer.size()) +
                      " snapshots not taken; ListenOptions::max_buffered_snapshots)");
      } else {
        buffer.push_back(std::move(snap));
      }
    }
    ready.signal();
    std::lock_guard lock(mu);
    return !terminal.has_value();
  }
};

namespace {

Error client_closed() {
  return Error(errc::cancelled, "firestore listener: the client was closed (Client::close)");
}

// Which ends of a stream are worth listening again, as the official clients decide: transient
// transport and server conditions (and OK: the server may end a stream at any time).
bool transient(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::UNAUTHENTICATED:
      return true;
    default:
      return false;
  }
}

boost::asio::awaitable<void> drive(std::shared_ptr<ListenerImpl> self) {
  core::Backoff backoff(self->opts.reconnect);
  std::optional<Error> fatal;
  const auto& shared = *self->client->shared;
  for (bool first = true;; first = false) {
    if (self->is_closed()) break;
    if (!first) self->reconnects.fetch_add(1, std::memory_order_relaxed);
    bool stop = false;
    grpc::Status status;
    {
      // The lease is held while the stream is up and returned before any backoff wait.
      auto lease = co_await self->client->acquire();
      if (!lease) {
        const auto code = lease.error().code();
        if (code == errc::pool_closed || code == errc::invalid_config) {
          fatal = std::move(lease).error();
          break;
        }
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE, lease.error().to_string());
      } else {
        auto& ch = (*lease)->state();
        auto call = ListenCall::make();
        prepare_context(call->context(), shared, std::chrono::system_clock::time_point::max(),
                        Routing::database, shared.database_name);
        {
          std::lock_guard lock(self->mu);
          if (self->closed) break;
          self->call = call;
        }
        v1::ListenRequest req;
        req.set_database(shared.database_name);
        auto* t = req.mutable_add_target();
        *t = self->target;
        t->set_target_id(WatchFsm::kTargetId);
        if (!self->fsm.resume_token().empty()) t->set_resume_token(self->fsm.resume_token());
        if (!call->begin(ch.stub.get(), std::move(req), shared.calls)) {
          // Client::close began: the call was refused, not started.
          fatal = client_closed();
          std::lock_guard lock(self->mu);
          self->call.reset();
          break;
        }
        bool ending = false;  // cancelled by us: drain what is queued until OnDone
        while (auto msg = co_await call->next()) {
          if (ending) continue;
          auto step = self->fsm.on_response(*msg);
          using Kind = WatchFsm::Step::Kind;
          if (step.kind == Kind::snapshot) {
            backoff.reset();  // a consistent point: the stream works
            if (!self->deliver(std::move(*step.snapshot))) stop = ending = true;
          } else if (step.kind == Kind::relisten) {
            ending = true;
          } else if (step.kind == Kind::fail) {
            fatal = std::move(step.error);
            stop = ending = true;
          }
          if (ending) call->cancel();
        }
        status = call->status();
        if (status.error_code() != grpc::StatusCode::UNAVAILABLE) ch.touch();
        std::lock_guard lock(self->mu);
        self->call.reset();
      }
    }
    self->fsm.on_stream_closed();
    if (stop || self->is_closed()) break;
    if (!transient(status.error_code())) {
      fatal = status_to_error(status, "Listen");
      break;
    }
    // On the strand, with no suspension between the check and arming the timer, so a close()
    // either is seen here or its posted timer.cancel() runs after the wait began.
    if (self->is_closed()) break;
    self->timer.expires_after(backoff.next());
    boost::system::error_code ec;
    co_await self->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  if (fatal) {
    self->finish(std::move(*fatal));
  } else {
    self->finish(Error(errc::cancelled, "firestore listener: closed"));
  }
}

}  // namespace

void close_listeners(ClientImpl& impl) {
  std::vector<std::weak_ptr<ListenerImpl>> open;
  {
    std::lock_guard lock(impl.listeners_mu);
    impl.closed = true;
    open.swap(impl.listeners);
  }
  for (auto& weak : open) {
    if (auto l = weak.lock()) l->close(client_closed());
  }
}

}  // namespace detail

using detail::ListenerImpl;

Listener::Listener(std::shared_ptr<ListenerImpl> impl) noexcept : impl_(std::move(impl)) {}
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Listener::~Listener() {
  close();
}

void Listener::close() noexcept {
  if (impl_) impl_->close();
}

std::uint64_t Listener::reconnects() const noexcept {
  return impl_ ? impl_->reconnects.load(std::memory_order_relaxed) : 0;
}

boost::asio::awaitable<Result<Snapshot>> Listener::next() {
  auto impl = impl_;
  if (!impl) co_return fail(errc::invalid_argument, "firestore listener: empty (moved from)");
  for (;;) {
    {
      std::lock_guard lock(impl->mu);
      if (!impl->buffer.empty()) {
        Snapshot s = std::move(impl->buffer.front());
        impl->buffer.pop_front();
        co_return s;
      }
      if (impl->terminal) co_return *impl->terminal;
    }
    // Named, not a temporary inside the co_await expression: GCC 12 destroys such temporaries
    // twice, and with them the weak_ptr copy, which freed the ListenerImpl while this coroutine
    // still used it (a heap-use-after-free found by ThreadSanitizer in ListenDriverTest).
    std::weak_ptr<ListenerImpl> weak = impl;
    std::function<void()> on_cancel = [weak] {
      if (auto s = weak.lock()) s->close();
    };
    co_await impl->ready.wait(std::move(on_cancel));
  }
}

namespace {

Result<Listener> start_listener(const std::shared_ptr<detail::ClientImpl>& impl,
                                detail::v1::Target target, detail::DocumentOrder order,
                                ListenOptions options) {
  if (options.max_buffered_snapshots == 0) {
    return fail(errc::invalid_argument, "firestore listen: max_buffered_snapshots must be > 0");
  }
  if (auto p = core::backoff_policy_problem(options.reconnect)) {
    return fail(errc::invalid_argument, "firestore listen: reconnect " + *p);
  }
  // Under listeners_mu: Client::close either sees this listener registered or refused it.
  std::lock_guard lock(impl->listeners_mu);
  if (impl->closed) return fail(errc::cancelled, "firestore listen: the client is closed");
  const auto cap = impl->options().max_listeners;
  auto n = impl->open_listeners.load();
  do {
    if (n >= cap) {
      return fail(errc::resource_exhausted,
                  "firestore listen: " + std::to_string(n) +
                      " listeners are open on this pool (FirestoreOptions::max_listeners)");
    }
  } while (!impl->open_listeners.compare_exchange_weak(n, n + 1));
  auto li = std::make_shared<ListenerImpl>(impl, std::move(target), std::move(order), options);
  auto& all = impl->listeners;
  all.erase(std::remove_if(all.begin(), all.end(), [](const auto& w) { return w.expired(); }),
            all.end());
  all.push_back(li);
  boost::asio::co_spawn(li->strand, detail::drive(li), boost::asio::detached);
  return Listener(std::move(li));
}

}  // namespace

Result<Listener> Client::listen(DocumentRef document, ListenOptions options) {
  auto name = detail::document_name(impl_->root(), document.path);
  if (!name) return std::move(name).error().with_context("firestore listen");
  detail::v1::Target target;
  target.mutable_documents()->add_documents(*name);
  return start_listener(impl_, std::move(target), {}, options);
}

Result<Listener> Client::listen(Query query, ListenOptions options) {
  if (query.is_limit_to_last()) {
    return fail(errc::invalid_argument,
                "firestore listen: limit_to_last queries cannot be listened to (use a reversed "
                "order_by and limit)");
  }
  detail::v1::Target target;
  auto* q = target.mutable_query();
  std::string parent;
  if (auto r = detail::query_to_proto(query, impl_->root(), *q->mutable_structured_query(), parent);
      !r) {
    return std::move(r).error().with_context("firestore listen");
  }
  q->set_parent(parent);
  return start_listener(impl_, std::move(target), detail::DocumentOrder(query.orders()), options);
}

}  // namespace connpool::firestore
