// The Asio driver of a Redis connection (submit, the writer handler loop, the reader coroutine,
// the deadline timer, completions grouped per executor) around the I/O-free Multiplexer, and
// the public Connection facade.
#include "connpool/redis/connection.hpp"

#include "connection_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <utility>

namespace connpool::redis {

namespace detail {

namespace {

// The read buffer starts small (idle connections are cheap: ~24 KiB each) and doubles while
// reads fill it (large values, deep pipelines), up to kMaxReadChunk.
constexpr std::size_t kInitialReadChunk = 16 * 1024;
constexpr std::size_t kMaxReadChunk = 256 * 1024;
// One direct read (into a large value's own string) asks for at most this much.
constexpr std::size_t kMaxDirectRead = 4 * 1024 * 1024;
// Arguments from this size on are sent from the caller's buffer (scatter/gather) instead of
// being copied into the formatted command: below it, one contiguous buffer is cheaper.
constexpr std::size_t kGatherMin = 64 * 1024;

// Set while this thread runs a batch of completions (several callers resumed by one read):
// their requests then wait for one write instead of the first one writing alone, which would
// split every round of a small pipeline into two writes and two reads.
thread_local int t_in_batch = 0;
// Set while the batch running is the only one its read handed out (every caller on one
// executor): the writer its callers claim then starts when the batch ends (on this thread,
// straight into the strand when it is free) instead of being posted, which cost every round
// of a pipeline one more trip through the scheduler (and its epoll_wait). With callers on
// several executors (one batch each) the writer is still posted, so that the later batches'
// requests join the same write.
thread_local bool t_batch_sole = false;
thread_local std::vector<std::shared_ptr<ConnectionImpl>> t_batch_writers;

struct InBatch {
  explicit InBatch(bool sole) noexcept : outer_sole_(t_batch_sole) {
    ++t_in_batch;
    t_batch_sole = sole;
  }
  ~InBatch() {
    t_batch_sole = outer_sole_;
    if (--t_in_batch != 0) return;
    auto writers = std::move(t_batch_writers);
    t_batch_writers.clear();
    for (auto& impl : writers) impl->run_claimed_writer();
  }
  InBatch(const InBatch&) = delete;
  InBatch& operator=(const InBatch&) = delete;

 private:
  bool outer_sole_;
};

}  // namespace

ConnectionImpl::ConnectionImpl(Strand strand, RedisUrl url, std::shared_ptr<asio::ssl::context> tls)
    : strand_(std::move(strand)),
      url_(std::move(url)),
      link_(strand_, url_, std::move(tls)),
      timer_(strand_),
      read_buf_(kInitialReadChunk),
      mux_(url_.endpoint(), url_.command_timeout, url_.max_reply_bytes) {}

Clock::time_point ConnectionImpl::deadline_from(std::optional<std::chrono::milliseconds> t) const {
  const auto timeout = t.value_or(url_.command_timeout);
  if (timeout.count() <= 0) return Clock::time_point::max();
  return Clock::now() + timeout;
}

std::optional<Error> ConnectionImpl::error() const {
  std::lock_guard lock(mu_);
  return mux_.error();
}

asio::awaitable<Result<void>> ConnectionImpl::open(std::shared_ptr<ConnectionImpl> self,
                                                   Clock::time_point deadline) {
  auto opened = co_await self->link_.open(deadline, self);
  if (!opened) co_return opened;
  self->start_read();  // open() runs on the strand
  co_return ok();
}

void ConnectionImpl::submit(Chunk&& chunk, std::size_t expected, Clock::time_point deadline,
                            asio::any_io_executor executor, ReplyHandler handler, Framing framing,
                            std::size_t raw_limit) {
  auto slot = handler.get_cancellation_slot();
  Mux::Completions done;
  std::unique_lock lock(mu_);
  const auto id =
      mux_.submit(std::move(chunk), expected, deadline,
                  Waiter{std::move(executor), std::move(handler)}, done, framing, raw_limit);
  in_flight_.store(mux_.in_flight(), std::memory_order_relaxed);
  const bool start_writer = mux_.claim_writer();
  // Nothing else queued or awaiting its reply, and no other caller resumed by the same read.
  const bool alone = mux_.pending() == 1 && t_in_batch == 0;
  // The write round arms the timer; only a submit behind a busy writer posts for it.
  const bool rearm = !start_writer && deadline < armed_for_;
  if (deadline < armed_for_) armed_for_ = deadline;
  if (id != 0 && slot.is_connected()) {
    // The caller gave up: it is answered now and the request keeps its place, so the late
    // reply is still matched (and dropped) in order and the connection stays usable. The
    // signal is emitted on the caller's side, which must follow the project's rule (no
    // cancellation from another thread); cancel() only takes the lock.
    slot.assign([weak = weak_from_this(), id](asio::cancellation_type type) {
      if (type == asio::cancellation_type::none) return;
      if (auto self = weak.lock()) self->cancel(id);
    });
  }
  lock.unlock();
  // A refused request: posted, never completed inside its own initiation.
  if (!done.empty()) deliver(done);
  // The writer is a handler loop on the strand that runs while there is something to write,
  // and costs nothing while it is busy (the batch then just grows). A request that finds the
  // connection idle (one caller, an exclusive lease) starts it with dispatch: a caller already
  // on the strand, or on a thread of the io_context while the strand is idle (always, with one
  // io thread), writes at once as a blocking client would, instead of queueing a handler and
  // waiting for the scheduler to come back to it (elsewhere dispatch posts). The write itself
  // always completes later, so no handler runs in here. A request behind others leaves the
  // writer for later, so that the callers resumed by the same read all join one write
  // (auto-pipelining): started when their batch ends if it is its read's only one, else posted.
  if (start_writer) {
    auto write = [self = shared_from_this()] { self->write_round(false); };
    if (alone) {
      asio::dispatch(strand_, std::move(write));
    } else if (t_in_batch > 0 && t_batch_sole) {
      t_batch_writers.push_back(shared_from_this());  // started when the batch ends
    } else {
      asio::post(strand_, std::move(write));
    }
  }
  if (rearm) asio::post(strand_, [self = shared_from_this()] { self->rearm_timer(); });
}

void ConnectionImpl::run_claimed_writer() {
  asio::dispatch(strand_, [self = shared_from_this()] { self->write_round(false); });
}

void ConnectionImpl::cancel(std::uint64_t id) noexcept {
  Mux::Completions done;
  std::unique_lock lock(mu_);
  mux_.cancel(id, done);
  in_flight_.store(mux_.in_flight(), std::memory_order_relaxed);
  lock.unlock();
  deliver(done);
}

void ConnectionImpl::fail(Error error) noexcept {
  Mux::Completions done;
  std::unique_lock lock(mu_);
  mux_.fail(std::move(error), done);
  settle(lock, done);
}

void ConnectionImpl::on_broken(BrokenCallback callback) {
  std::unique_lock lock(mu_);
  if (!broken_.load(std::memory_order_acquire)) {
    on_broken_ = std::move(callback);
    return;
  }
  const Error why = *mux_.error();
  lock.unlock();
  if (callback) callback(why);
}

void ConnectionImpl::settle(std::unique_lock<std::mutex>& lock, Mux::Completions& done,
                            Handoff how) noexcept {
  in_flight_.store(mux_.in_flight(), std::memory_order_relaxed);
  const bool newly_broken = mux_.error() && !broken_.load(std::memory_order_relaxed);
  BrokenCallback callback;
  std::optional<Error> why;
  if (newly_broken) {
    broken_.store(true, std::memory_order_release);
    callback = std::move(on_broken_);
    on_broken_ = nullptr;
    why = mux_.error();
  }
  lock.unlock();
  deliver(done, how);
  if (!newly_broken) return;
  asio::post(strand_, [self = shared_from_this()] {
    self->link_.close();
    self->timer_.cancel();
  });
  if (callback) callback(*why);
}

void ConnectionImpl::deliver(Mux::Completions& done, Handoff how) {
  // One post per distinct executor, carrying all of that executor's completions in order (when
  // there are several: below).
  struct Ready {
    // A constructor, not an aggregate: GCC 12 -O3 warns (maybe-uninitialized) on the
    // aggregate temporary's variant.
    Ready(ReplyHandler&& h, Result<std::vector<Reply>>&& r)
        : handler(std::move(h)), result(std::move(r)) {}
    ReplyHandler handler;
    Result<std::vector<Reply>> result;
  };
  if (done.size() == 1) {  // the common case at low concurrency: no batch to allocate
    auto& d = done.front();
    if (how == Handoff::dispatch) {
      // What dispatch() does for a caller on an io_context executor run by this thread (one
      // io thread: every caller), without moving the result through two function objects.
      const auto* io = d.handler.executor.target<asio::io_context::executor_type>();
      if (io != nullptr && io->running_in_this_thread()) {
        try {
          std::move(d.handler.handler)(std::move(d.result));
        } catch (...) {
          // As dispatch() does: the exception leaves io_context::run(), not the reader.
          asio::post(*io, [e = std::current_exception()] { std::rethrow_exception(e); });
        }
        done.clear();
        return;
      }
    }
    auto run = [h = std::move(d.handler.handler), r = std::move(d.result)]() mutable {
      std::move(h)(std::move(r));
    };
    if (how == Handoff::dispatch) {
      asio::dispatch(d.handler.executor, std::move(run));
    } else {
      asio::post(d.handler.executor, std::move(run));
    }
    done.clear();
    return;
  }
  // One executor for every caller (the usual case: callers on the io_context's executor)?
  const asio::any_io_executor* first = nullptr;
  bool sole = true;
  for (const auto& d : done) {
    if (!d.handler.handler) continue;
    if (first == nullptr) {
      first = &d.handler.executor;
    } else if (d.handler.executor != *first) {
      sole = false;
      break;
    }
  }
  if (sole && first != nullptr) {
    // The whole read's completions in one post, as they are: nothing to sort or move.
    const asio::any_io_executor executor = *first;
    asio::post(executor, [batch = std::exchange(done, {})]() mutable {
      const InBatch in_batch(true);
      for (auto& c : batch) {
        if (c.handler.handler) std::move(c.handler.handler)(std::move(c.result));
      }
    });
    return;
  }
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (!done[i].handler.handler) continue;
    const asio::any_io_executor executor = done[i].handler.executor;
    std::vector<Ready> batch;
    for (std::size_t j = i; j < done.size(); ++j) {
      if (!done[j].handler.handler || done[j].handler.executor != executor) continue;
      batch.emplace_back(std::move(done[j].handler.handler), std::move(done[j].result));
    }
    asio::post(executor, [batch = std::move(batch)]() mutable {
      const InBatch in_batch(false);  // callers on several executors
      for (auto& r : batch) std::move(r.handler)(std::move(r.result));
    });
  }
  done.clear();
}

std::span<const asio::const_buffer> ConnectionImpl::next_round(bool finished,
                                                               Mux::Completions& done,
                                                               Clock::time_point& next) {
  std::lock_guard lock(mu_);
  if (finished) mux_.on_written(done);
  const auto buffers = mux_.prepare_write();
  if (!buffers.empty()) {
    next = mux_.next_deadline();
    armed_for_ = std::min(next, timer_at_);
  }
  return buffers;
}

void ConnectionImpl::write_round(bool finished) {
  // A few rounds at once at most: callers on other threads may keep the queue full, and the
  // reader shares this strand. Then the next round is posted (the writer stays claimed).
  constexpr int kRoundsInline = 4;
  for (int round = 0;; ++round) {
    if (round == kRoundsInline) {
      if (finished && !finish_write({})) return;
      asio::post(strand_, [self = shared_from_this()] { self->write_round(false); });
      return;
    }
    // One lock for the end of the last write and the start of the next round.
    Mux::Completions done;
    Clock::time_point next{};
    const auto buffers = next_round(finished, done, next);
    deliver(done);  // requests cancelled while the last write borrowed their bytes
    if (buffers.empty()) return;
    arm_timer(next);
    // First one send call straight away, as a blocking client does: a socket with room takes
    // the whole round (the usual case for small commands), with no reactor operation and no
    // completion handler to schedule. What does not fit goes through async_write.
    boost::system::error_code ec;
    const std::size_t sent = link_.write_now(buffers, ec);
    if (!ec && sent < asio::buffer_size(buffers)) {
      rest_.clear();
      std::size_t skip = sent;
      for (const auto& b : buffers) {
        if (skip >= b.size()) {
          skip -= b.size();
          continue;
        }
        rest_.push_back(b + skip);
        skip = 0;
      }
      // The buffers stay valid until on_written(): the multiplexer keeps them for this write.
      link_.async_write(rest_, [self = shared_from_this()](const boost::system::error_code& e,
                                                           std::size_t) { self->on_written(e); });
      return;
    }
    if (ec) {
      (void)finish_write(ec);
      return;
    }
    finished = true;  // then whatever was queued meanwhile
  }
}

bool ConnectionImpl::finish_write(const boost::system::error_code& ec) {
  {
    Mux::Completions done;
    std::unique_lock lock(mu_);
    mux_.on_written(done);
    lock.unlock();
    deliver(done);  // requests cancelled while this write borrowed their bytes
  }
  if (!ec) return true;
  fail(link_.write_error(ec));
  std::lock_guard lock(mu_);
  (void)mux_.prepare_write();  // releases the writer
  return false;
}

void ConnectionImpl::on_written(const boost::system::error_code& ec) {
  if (ec) {
    (void)finish_write(ec);
    return;
  }
  write_round(true);  // ends this write, then whatever was queued while it was in flight
}

void ConnectionImpl::rearm_timer() {
  Clock::time_point next;
  {
    std::lock_guard lock(mu_);
    next = mux_.next_deadline();
    armed_for_ = std::min(next, timer_at_);
  }
  arm_timer(next);
}

void ConnectionImpl::arm_timer(Clock::time_point next) {
  if (next >= timer_at_) return;
  timer_at_ = next;
  timer_.expires_at(next);  // an earlier wait completes with operation_aborted
  timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) { self->on_timer(ec); });
}

void ConnectionImpl::on_timer(const boost::system::error_code& ec) {
  if (ec || broken()) return;
  Mux::Completions done;
  std::unique_lock lock(mu_);
  mux_.on_time(Clock::now(), done);
  const auto next = mux_.next_deadline();
  armed_for_ = next;
  settle(lock, done);
  timer_at_ = Clock::time_point::max();
  if (next == Clock::time_point::max() || broken()) return;
  timer_at_ = next;
  timer_.expires_at(next);
  timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) { self->on_timer(ec); });
}

void ConnectionImpl::start_read() {
  std::span<char> direct;
  {
    std::lock_guard lock(mu_);
    direct = mux_.direct_room(kMaxReadChunk, kMaxDirectRead);
  }
  read_into(direct);
}

void ConnectionImpl::read_into(std::span<char> direct) {
  // A large value's body, once its reply is known to be one, is read straight into the string
  // its caller gets (no copy out of read_buf_) when more of it is left than read_buf_ holds.
  reading_direct_ = !direct.empty();
  // A handler, not a coroutine: an awaited read costs a coroutine frame (use_awaitable's
  // initiation) and a resumption per read on top of the read itself.
  link_.async_read_some(
      direct.empty() ? asio::buffer(read_buf_) : asio::buffer(direct.data(), direct.size()),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->on_read(ec, n);
      });
}

void ConnectionImpl::on_read(const boost::system::error_code& ec, std::size_t n) {
  // read_done_ keeps its capacity from read to read; nothing else touches it, and no read
  // completes inside this call (Asio never runs a read's handler inside its initiation).
  Mux::Completions& done = read_done_;
  if (ec) {
    if (reading_direct_) {
      std::lock_guard lock(mu_);
      mux_.on_direct_read(0, done);  // gives the room back
    }
    done.clear();
    fail(link_.read_error(ec));
    return;
  }
  const bool was_direct = reading_direct_;
  std::unique_lock lock(mu_);
  if (was_direct) {
    mux_.on_direct_read(n, done);
  } else {
    mux_.on_read(read_buf_.data(), n, done);
  }
  const bool failed = mux_.error().has_value();
  // Where the next read goes, under this same lock (the callers resumed below cannot change
  // it: only bytes read can start or end a large reply's body).
  const std::span<char> direct =
      failed ? std::span<char>{} : mux_.direct_room(kMaxReadChunk, kMaxDirectRead);
  // A caller resumed here (dispatch) runs on this strand: its next command is written at once
  // by submit(), and the handler's `self` keeps the connection alive if the caller closes it.
  settle(lock, done, Handoff::dispatch);
  if (failed) return;
  if (!was_direct && n == read_buf_.size() && read_buf_.size() < kMaxReadChunk) {
    read_buf_.resize(read_buf_.size() * 2);
  }
  read_into(direct);
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
    std::optional<std::chrono::steady_clock::time_point> until) {
  namespace asio = boost::asio;
  // One mechanism for every caller: the Link enforces this deadline on the connection's strand
  // (the pool's core::Deadline arrives here as `until`).
  const auto deadline = until.value_or(std::chrono::steady_clock::now() + url.pool.connect_timeout);
  std::shared_ptr<asio::ssl::context> tls;
  if (url.transport == Transport::tls) {
    auto ctx = detail::make_tls_context(url);
    if (!ctx) co_return std::move(ctx).error();
    tls = std::move(*ctx);
  }
  auto strand = detail::make_io_strand(executor);
  auto impl = std::make_shared<detail::ConnectionImpl>(strand, std::move(url), std::move(tls));
  auto opened = co_await asio::co_spawn(strand, detail::ConnectionImpl::open(impl, deadline),
                                        asio::use_awaitable);
  if (!opened) {
    impl->fail(opened.error());
    co_return std::move(opened).error();
  }
  co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

namespace {

// execute()'s answer for a command refused before anything is sent.
boost::asio::awaitable<Result<Reply>> refused(Error error) {
  co_return error;
}

}  // namespace

// Not a coroutine: the command is formatted now and the submit operation's own awaitable is
// returned, so a command pays for no frame here (`args` must outlive the call in any case).
boost::asio::awaitable<Result<Reply>> Connection::execute(
    std::span<const std::string_view> args, std::optional<std::chrono::milliseconds> timeout) {
  detail::Chunk chunk;
  if (std::any_of(args.begin(), args.end(),
                  [](std::string_view a) { return a.size() >= detail::kGatherMin; })) {
    // A large value is written from the caller's buffer (the caller keeps `args` alive until
    // the reply, and the multiplexer until the write is done), not copied into the command.
    if (auto fits = detail::FormattedCommand::check_size(args); !fits) return refused(fits.error());
    chunk = detail::Chunk::gather(args, detail::kGatherMin);
  } else {
    auto cmd = detail::FormattedCommand::format(args);
    if (!cmd) return refused(std::move(cmd).error());
    chunk.command = std::move(*cmd);
  }
  return detail::async_submit_one(impl_, std::move(chunk), impl_->deadline_from(timeout),
                                  boost::asio::use_awaitable);
}

boost::asio::awaitable<Result<std::vector<Reply>>> Connection::execute(
    const RequestBatch& batch, std::optional<std::chrono::milliseconds> timeout) {
  if (batch.error()) co_return *batch.error();
  if (batch.empty()) co_return std::vector<Reply>{};
  detail::Chunk chunk = detail::Chunk::bytes(batch.bytes());
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

void Connection::on_broken(std::function<void(const Error&)> callback) {
  impl_->on_broken(std::move(callback));
}

void Connection::close() noexcept {
  if (impl_) impl_->fail(Error(errc::io_error, "connection closed"));
}

}  // namespace connpool::redis
