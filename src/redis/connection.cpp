// The pipelining engine of a Redis connection: submit, the writer handler loop, the reader and
// the deadline watchdog, failure propagation, and the public Connection facade.
#include "connpool/redis/connection.hpp"

#include "connection_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <utility>

namespace connpool::redis {

namespace detail {

namespace {

// The read buffer starts small (idle connections are cheap: ~24 KiB each) and doubles while
// reads fill it (large values, deep pipelines), up to kMaxReadChunk.
constexpr std::size_t kInitialReadChunk = 16 * 1024;
constexpr std::size_t kMaxReadChunk = 256 * 1024;

std::variant<ConnectionImpl::TcpSocket, ConnectionImpl::TlsStream, ConnectionImpl::UnixSocket>
make_stream(const ConnectionImpl::Strand& strand, const RedisUrl& url, asio::ssl::context* tls) {
  using V = std::variant<ConnectionImpl::TcpSocket, ConnectionImpl::TlsStream,
                         ConnectionImpl::UnixSocket>;
  switch (url.transport) {
    case Transport::tls:
      return V(std::in_place_index<1>, asio::any_io_executor(strand), *tls);
    case Transport::unix_socket:
      return V(std::in_place_index<2>, asio::any_io_executor(strand));
    case Transport::tcp:
      break;
  }
  return V(std::in_place_index<0>, asio::any_io_executor(strand));
}

}  // namespace

ConnectionImpl::ConnectionImpl(Strand strand, RedisUrl url, std::shared_ptr<asio::ssl::context> tls)
    : strand_(std::move(strand)),
      url_(std::move(url)),
      tls_(std::move(tls)),
      stream_(make_stream(strand_, url_, tls_.get())),
      resolver_(strand_),
      watch_timer_(strand_),
      reader_(url_.max_reply_bytes) {
  watch_timer_.expires_at(Clock::time_point::max());
}

Clock::time_point ConnectionImpl::deadline_from(std::optional<std::chrono::milliseconds> t) const {
  const auto timeout = t.value_or(url_.command_timeout);
  if (timeout.count() <= 0) return Clock::time_point::max();
  return Clock::now() + timeout;
}

std::optional<Error> ConnectionImpl::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void ConnectionImpl::start_loops() {
  asio::co_spawn(strand_, read_loop(shared_from_this()), asio::detached);
  asio::co_spawn(strand_, watch_loop(shared_from_this()), asio::detached);
}

void ConnectionImpl::submit(Chunk chunk, std::size_t expected, Clock::time_point deadline,
                            asio::any_io_executor executor, ReplyHandler handler) {
  std::unique_lock lock(mu_);
  if (error_) {
    Error e = *error_;
    lock.unlock();
    deliver(executor, std::move(handler), std::move(e));
    return;
  }
  const std::uint64_t seq = next_seq_++;
  auto slot = handler.get_cancellation_slot();
  if (slot.is_connected()) {
    // The caller gave up: answer it now and leave the slot in place, so the late reply is
    // still matched (and dropped) in order and the connection stays usable for others.
    slot.assign([weak = weak_from_this(), seq](asio::cancellation_type type) {
      if (type == asio::cancellation_type::none) return;
      if (auto self = weak.lock()) self->cancel(seq);
    });
  }
  queue_.push_back(std::move(chunk));
  // Boost 1.81's any_completion_handler move *assignment* re-wraps the handler (infinite
  // recursion on completion), so handlers are only ever move-constructed.
  pending_.push_back(Pending{expected, {}, std::move(handler), std::move(executor), deadline, seq});
  pending_.back().replies.reserve(expected);
  in_flight_.fetch_add(expected, std::memory_order_relaxed);
  const bool start_writer = !std::exchange(writing_, true);
  lock.unlock();
  // The writer is a handler loop on the strand that runs while there is something to write;
  // waking it costs one post, and none at all while it is busy (the batch then just grows).
  if (start_writer) asio::post(strand_, [self = shared_from_this()] { self->write_pending(); });
}

void ConnectionImpl::cancel(std::uint64_t seq) noexcept {
  std::optional<ReplyHandler> handler;  // emplace, never assign (see submit())
  asio::any_io_executor executor;
  {
    std::lock_guard lock(mu_);
    for (auto& p : pending_) {
      if (p.seq == seq && p.handler) {
        handler.emplace(std::move(p.handler));
        executor = p.executor;
        break;
      }
    }
  }
  if (handler) {
    deliver(executor, std::move(*handler), Error(errc::cancelled, "redis command cancelled"));
  }
}

void ConnectionImpl::deliver(const asio::any_io_executor& executor, ReplyHandler handler,
                             Result<std::vector<Reply>> result) {
  asio::post(executor, [h = std::move(handler), r = std::move(result)]() mutable {
    std::move(h)(std::move(r));
  });
}

void ConnectionImpl::fail(Error error) noexcept {
  std::deque<Pending> victims;
  {
    std::lock_guard lock(mu_);
    if (error_) return;
    error_ = error;
    broken_.store(true, std::memory_order_release);
    victims.swap(pending_);
    queue_.clear();
    in_flight_.store(0, std::memory_order_relaxed);
  }
  for (auto& p : victims) {
    if (p.handler) deliver(p.executor, std::move(p.handler), error);
  }
  asio::post(strand_, [self = shared_from_this()] { self->close_transport(); });
}

void ConnectionImpl::close_transport() noexcept {
  boost::system::error_code ignored;
  std::visit(
      [&](auto& s) {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, TlsStream>) {
          s.next_layer().close(ignored);
        } else {
          s.close(ignored);
        }
      },
      stream_);
  resolver_.cancel();
  watch_timer_.cancel();
}

void ConnectionImpl::arm_watchdog() {
  Clock::time_point front = Clock::time_point::max();
  {
    std::lock_guard lock(mu_);
    if (!pending_.empty()) front = pending_.front().deadline;
  }
  if (front < watch_armed_for_) {
    watch_armed_for_ = front;
    watch_timer_.expires_at(front);  // wakes watch_loop, which then waits for the new time
  }
}

void ConnectionImpl::write_pending() {
  {
    std::lock_guard lock(mu_);
    if (error_ || queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_batch_.swap(queue_);
  }
  arm_watchdog();
  write_buffers_.clear();
  for (const auto& c : writing_batch_) write_buffers_.push_back(c.buffer());
  std::visit(
      [&](auto& s) {
        asio::async_write(s, write_buffers_,
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t) { self->on_written(ec); });
      },
      stream_);
}

void ConnectionImpl::on_written(const boost::system::error_code& ec) {
  writing_batch_.clear();
  if (ec) {
    fail(Error(errc::io_error, "write to " + url_.endpoint() + " failed: " + ec.message()));
    std::lock_guard lock(mu_);
    writing_ = false;
    return;
  }
  write_pending();  // whatever was queued while this write was in flight
}

asio::awaitable<void> ConnectionImpl::read_loop(std::shared_ptr<ConnectionImpl> self) {
  std::vector<char> buf(kInitialReadChunk);
  std::vector<Reply> got;
  struct Done {
    asio::any_io_executor executor;
    ReplyHandler handler;
    std::vector<Reply> replies;
  };
  std::vector<Done> done;
  for (;;) {
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return s.async_read_some(asio::buffer(buf), nothrow); }, self->stream_);
    if (ec) {
      const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      self->fail(Error(errc::io_error,
                       eof ? self->url_.endpoint() + " closed the connection"
                           : "read from " + self->url_.endpoint() + " failed: " + ec.message()));
      co_return;
    }
    if (auto fed = self->reader_.feed(buf.data(), n); !fed) {
      self->fail(fed.error());
      co_return;
    }
    if (n == buf.size() && buf.size() < kMaxReadChunk) buf.resize(buf.size() * 2);
    for (;;) {
      auto next = self->reader_.next();
      if (!next) {
        self->fail(next.error());
        co_return;
      }
      if (!*next) break;
      got.push_back(std::move(**next));
    }
    if (got.empty()) continue;
    bool unexpected = false;
    {
      std::lock_guard lock(self->mu_);
      std::size_t i = 0;
      while (i < got.size()) {
        if (self->pending_.empty()) {
          unexpected = !self->error_;
          break;
        }
        Pending& front = self->pending_.front();
        front.replies.push_back(std::move(got[i++]));
        if (front.replies.size() == front.expected) {
          self->in_flight_.fetch_sub(front.expected, std::memory_order_relaxed);
          if (front.handler) {
            done.push_back(Done{std::move(front.executor), std::move(front.handler),
                                std::move(front.replies)});
          }
          self->pending_.pop_front();
        }
      }
    }
    got.clear();
    // A surplus reply breaks the connection before the matched replies are delivered, so no
    // caller can hand it back to the pool as healthy in between.
    if (unexpected) {
      self->fail(Error(errc::protocol_error,
                       self->url_.endpoint() + " sent a reply nobody asked for (push message?)"));
    }
    for (auto& d : done) deliver(d.executor, std::move(d.handler), std::move(d.replies));
    done.clear();
    if (unexpected) co_return;
  }
}

asio::awaitable<void> ConnectionImpl::watch_loop(std::shared_ptr<ConnectionImpl> self) {
  for (;;) {
    auto [ec] = co_await self->watch_timer_.async_wait(nothrow);
    if (self->broken()) co_return;
    if (ec) continue;  // re-armed by arm_watchdog(): wait for the new expiry
    const auto now = Clock::now();
    Clock::time_point next = Clock::time_point::max();
    bool expired = false;
    {
      std::lock_guard lock(self->mu_);
      if (!self->pending_.empty()) {
        expired = self->pending_.front().deadline <= now;
        next = self->pending_.front().deadline;
      }
    }
    if (expired) {
      // RESP replies cannot be skipped, so a late reply would be matched to the wrong caller:
      // the only safe reaction is to break the connection.
      self->fail(Error(errc::timeout, "no reply from " + self->url_.endpoint() +
                                          " before the command deadline (command_timeout " +
                                          ms_text(self->url_.command_timeout) + ")"));
      co_return;
    }
    self->watch_armed_for_ = next;
    self->watch_timer_.expires_at(next);
  }
}

}  // namespace detail

// ---- RequestBatch ----------------------------------------------------------------------------

void RequestBatch::add(std::span<const std::string_view> args) {
  auto cmd = detail::FormattedCommand::format(args);
  if (!cmd) {
    // Remembered and returned by execute(): the batch is refused as a whole.
    if (!error_) error_ = std::move(cmd).error();
    return;
  }
  bytes_.append(cmd->data(), cmd->size());
  ++count_;
}

// ---- Connection ------------------------------------------------------------------------------

Connection::Connection(std::shared_ptr<detail::ConnectionImpl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() {
  close();
}

boost::asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::connect(
    boost::asio::any_io_executor executor, RedisUrl url,
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  namespace asio = boost::asio;
  std::shared_ptr<asio::ssl::context> tls;
  if (url.transport == Transport::tls) {
    auto ctx = detail::make_tls_context(url);
    if (!ctx) co_return std::move(ctx).error();
    tls = std::move(*ctx);
  }
  auto strand = asio::make_strand(executor);
  auto impl = std::make_shared<detail::ConnectionImpl>(strand, std::move(url), std::move(tls));
  auto opened = co_await asio::co_spawn(strand, detail::ConnectionImpl::open(impl, deadline),
                                        asio::use_awaitable);
  if (!opened) {
    impl->fail(opened.error());
    co_return std::move(opened).error();
  }
  co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

boost::asio::awaitable<Result<Reply>> Connection::execute(
    std::span<const std::string_view> args, std::optional<std::chrono::milliseconds> timeout) {
  auto cmd = detail::FormattedCommand::format(args);
  if (!cmd) co_return std::move(cmd).error();
  detail::Chunk chunk;
  chunk.command = std::move(*cmd);
  const auto deadline = impl_->deadline_from(timeout);
  auto replies = co_await detail::async_submit(impl_, std::move(chunk), 1, deadline,
                                               boost::asio::use_awaitable);
  if (!replies) co_return std::move(replies).error();
  co_return std::move(replies->front());
}

boost::asio::awaitable<Result<std::vector<Reply>>> Connection::execute(
    const RequestBatch& batch, std::optional<std::chrono::milliseconds> timeout) {
  if (batch.error()) co_return *batch.error();
  if (batch.empty()) co_return std::vector<Reply>{};
  detail::Chunk chunk;
  chunk.owned = batch.bytes();
  const auto deadline = impl_->deadline_from(timeout);
  co_return co_await detail::async_submit(impl_, std::move(chunk), batch.size(), deadline,
                                          boost::asio::use_awaitable);
}

bool Connection::broken() const noexcept {
  return impl_->broken();
}
std::optional<Error> Connection::error() const {
  return impl_->error();
}
std::size_t Connection::in_flight() const noexcept {
  return impl_->in_flight();
}
const RedisUrl& Connection::url() const noexcept {
  return impl_->url();
}

void Connection::close() noexcept {
  if (impl_) impl_->fail(Error(errc::io_error, "connection closed"));
}

}  // namespace connpool::redis
