// The request/reply engine of a pipelined Redis connection, with no I/O: a queue of requests,
// write coalescing (hands out the buffers to write), in-order reply matching (fed the bytes
// read), per-request deadlines (fed the time; tells when to look again), cancellation (a
// cancelled request that was written keeps its place, so its late reply is still consumed in
// order and dropped; one not yet written is never sent), unexpected replies and the failure of
// everything in flight. A request's replies are either parsed into Reply trees or, for a raw
// request, handed over as the bytes the server sent (RespFrameScanner finds where each reply
// ends; the proxy forwards them as they are). A thin Asio driver (ConnectionImpl) moves the
// bytes and the timer and runs the completions; unit tests drive this class with byte strings and a
// manual clock.
//
// Not thread-safe: the driver serialises calls (a mutex, since submit comes from any thread).
// Completions are appended to a caller-provided vector and must be run by the caller after it
// released its lock. `Handler` is any move-constructible type; it is never move-assigned
// (Boost 1.81's any_completion_handler move assignment re-wraps the handler).
#pragma once

#include "connpool/redis/reply.hpp"

#include "../resp.hpp"
#include "resp_frame.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/circular_buffer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::redis::detail {

/// Bytes of one request: a hiredis-formatted command (the common case: nothing else is set,
/// so moving a Chunk down to its queue slot and on to the write batch costs three words), a
/// pre-built batch (bytes()), or a command with a large argument as a scatter/gather list
/// (gather()).
struct Chunk {
  /// One piece of a gathered command: the owned bytes [offset, offset + size) when `data` is
  /// null, else the caller's own bytes.
  struct Piece {
    const char* data = nullptr;
    std::size_t offset = 0;
    std::size_t size = 0;
  };

  FormattedCommand command;

  /// A chunk of `bytes` as they are (a batch of commands already in RESP).
  static Chunk bytes(std::string bytes) {
    Chunk c;
    c.owned_ = std::make_unique<Owned>();
    c.owned_->bytes = std::move(bytes);
    return c;
  }

  /// `args` in RESP with every argument of `min_borrow` bytes or more borrowed from the caller,
  /// not copied: the owned bytes hold the framing and the small arguments. The caller keeps
  /// the borrowed bytes alive until the request completes; the Multiplexer never completes a
  /// request while a write may still read them.
  static Chunk gather(std::span<const std::string_view> args, std::size_t min_borrow) {
    Chunk c = bytes("*" + std::to_string(args.size()) + "\r\n");
    std::string& owned = c.owned_->bytes;
    std::vector<Piece>& pieces = c.owned_->pieces;
    std::size_t run = 0;  // where the current run of owned bytes starts
    for (const std::string_view arg : args) {
      owned += "$" + std::to_string(arg.size()) + "\r\n";
      if (arg.size() >= min_borrow) {
        pieces.push_back({nullptr, run, owned.size() - run});
        pieces.push_back({arg.data(), 0, arg.size()});
        run = owned.size();
      } else {
        owned.append(arg);
      }
      owned += "\r\n";
    }
    // Nothing borrowed: the owned bytes are the whole command, written as one buffer.
    if (!pieces.empty()) pieces.push_back({nullptr, run, owned.size() - run});
    return c;
  }

  [[nodiscard]] bool borrows() const noexcept { return owned_ && !owned_->pieces.empty(); }

  /// Appends this request's buffers, in wire order.
  void buffers(std::vector<boost::asio::const_buffer>& out) const {
    if (!owned_) {
      out.push_back(boost::asio::buffer(command.data(), command.size()));
      return;
    }
    if (owned_->pieces.empty()) {
      out.push_back(boost::asio::buffer(owned_->bytes));
      return;
    }
    for (const Piece& p : owned_->pieces) {
      out.push_back(p.data != nullptr
                        ? boost::asio::buffer(p.data, p.size)
                        : boost::asio::buffer(owned_->bytes.data() + p.offset, p.size));
    }
  }

 private:
  // Out of line: a string and a vector would make every move of every Chunk copy 56 bytes
  // more (a moved-from short string still copies its inline buffer), for the rare chunk that
  // uses them. On the heap, the bytes also never move when the Chunk does.
  struct Owned {
    std::string bytes;
    std::vector<Piece> pieces;  // empty unless gathered
  };
  std::unique_ptr<Owned> owned_;
};

/// How a request's replies come back: parsed into Reply trees, or raw (RawResult).
enum class Framing : std::uint8_t { parsed, raw };

/// A raw request's byte limit when its caller sets none (Multiplexer::submit).
inline constexpr std::size_t kNoRawLimit = static_cast<std::size_t>(-1);

/// A raw request completes with the server's bytes and how many of its replies were errors,
/// carried in the Replies vector the driver already moves (one handler type for both kinds):
/// exactly {Reply::string(bytes), Reply::integer(errors)}.
struct RawResult {
  static std::vector<Reply> make(std::string bytes, std::size_t errors) {
    std::vector<Reply> v;
    v.reserve(2);
    v.push_back(Reply::string(std::move(bytes)));
    v.push_back(Reply::integer(static_cast<long long>(errors)));
    return v;
  }
  static std::string take_bytes(std::vector<Reply>& v) { return v[0].take_str(); }
  static std::size_t errors(const std::vector<Reply>& v) {
    return static_cast<std::size_t>(v[1].as_integer());
  }
};

template <class Handler>
class Multiplexer {
 public:
  using Clock = std::chrono::steady_clock;
  using Replies = std::vector<Reply>;

  /// A finished request: run `handler` with `result` (outside the driver's lock).
  struct Completion {
    // A constructor, not an aggregate: GCC 12 -O3 warns (maybe-uninitialized) on an aggregate
    // temporary's variant.
    Completion(Handler&& h, Replies&& r) : handler(std::move(h)), result(std::move(r)) {}
    Completion(Handler&& h, const Error& e) : handler(std::move(h)), result(e) {}
    Handler handler;
    Result<Replies> result;
  };
  using Completions = std::vector<Completion>;

  /// `endpoint` and `command_timeout` only word the error messages. `max_reply_bytes` bounds
  /// one reply (url.max_reply_bytes): a reply over it fails every request in flight.
  Multiplexer(std::string endpoint, std::chrono::milliseconds command_timeout,
              std::size_t max_reply_bytes = kDefaultMaxReplyBytes)
      : endpoint_(std::move(endpoint)),
        command_timeout_(command_timeout),
        max_reply_bytes_(max_reply_bytes),
        reader_(max_reply_bytes) {}

  /// Queues a request that `chunk` carries and `expected` replies answer, completed with
  /// their Reply trees or, when `framing` is raw, with a RawResult. Returns its id for
  /// cancel(), or 0 when the multiplexer already failed (the handler is then in `out`).
  /// A raw request whose replies come to more than `raw_limit` bytes completes at once with
  /// errc::resource_exhausted and the rest of them is read and dropped, as after cancel(): so
  /// a caller that can only use so many bytes (the proxy, for a client that does not read)
  /// never makes the connection hold more, and the connection stays usable.
  std::uint64_t submit(Chunk&& chunk, std::size_t expected, Clock::time_point deadline,
                       Handler handler, Completions& out, Framing framing = Framing::parsed,
                       std::size_t raw_limit = kNoRawLimit) {
    if (error_) {
      out.emplace_back(std::move(handler), *error_);
      return 0;
    }
    const std::uint64_t id = next_id_++;
    const bool raw = framing == Framing::raw;
    if (pending_.full()) {
      // Grows by doubling and keeps its room: no allocation per request once warm (a deque
      // allocated a node per request, a Pending being larger than its nodes).
      pending_.set_capacity(std::max<std::size_t>(kInitialPending, pending_.capacity() * 2));
    }
    pending_.push_back(Pending(id, expected, deadline, raw, std::move(chunk), std::move(handler)));
    pending_.back().raw_limit = raw_limit;
    raw_pending_ += raw ? 1 : 0;
    ++unwritten_;
    in_flight_ += expected;
    return id;
  }

  /// True once, when a request waits and no write round is scheduled: the driver then runs
  /// one (prepare_write ... on_written, until prepare_write hands out nothing).
  bool claim_writer() noexcept {
    if (writer_active_ || unwritten_ == 0 || error_) return false;
    writer_active_ = true;
    return true;
  }

  /// The buffers of every request not written yet, coalesced into one gather write; they stay
  /// valid until on_written(). Empty (and the writer released) when there is nothing to write.
  std::span<const boost::asio::const_buffer> prepare_write() {
    if (error_ || unwritten_ == 0) {
      writer_active_ = false;
      return {};
    }
    const std::size_t first = pending_.size() - unwritten_;
    for (std::size_t i = first; i < pending_.size(); ++i) {
      writing_.push_back(std::move(pending_[i].chunk));
    }
    writing_ids_ = {pending_[first].id, pending_.back().id};
    // Only now, once writing_ stops growing: no buffer is taken from a Chunk that may move.
    for (const auto& chunk : writing_) chunk.buffers(buffers_);
    unwritten_ = 0;
    return buffers_;
  }

  /// The write handed out by prepare_write() finished (successfully or not: a failed write is
  /// reported with fail()). Requests cancelled or failed during it whose bytes it borrowed
  /// complete now, into `out`.
  void on_written(Completions& out) {
    writing_.clear();
    buffers_.clear();
    writing_ids_ = {0, 0};
    for (auto& c : held_) out.push_back(std::move(c));
    held_.clear();
  }

  /// Bytes read from the server: completes every request whose replies are now all there.
  /// A malformed, oversized (max_reply_bytes) or unexpected reply fails the multiplexer.
  /// Completions only reach `out`, run by the caller after this returns: so a reply nobody
  /// asked for has already broken the connection (error() is set) when the replies matched
  /// before it in the same bytes are delivered, and no caller can hand the connection back to
  /// the pool as healthy in between.
  void on_read(const char* data, std::size_t size, Completions& out) {
    if (error_) return;
    const char* const end = data + size;
    const char* fed = data;  // the reader has every byte before this
    while (data < end) {
      if (pending_.size() == unwritten_) {
        fail(Error(errc::protocol_error,
                   endpoint_ + " sent a reply nobody asked for (push message?)"),
             out);
        return;
      }
      Pending& front = pending_.front();
      const bool frame_start = scanner_.at_frame_start();
      auto n = scanner_.scan(data, static_cast<std::size_t>(end - data));
      if (!n) {
        fail(n.error(), out);
        return;
      }
      // A whole simple reply in these bytes, none of it given to the reader (which then holds
      // nothing): built here, without the reader. Not over max_reply_bytes, which the reader
      // words the error for.
      const bool simple = !front.raw && frame_start && scanner_.done() && fed == data &&
                          scanner_.frame_bytes() <= max_reply_bytes_ &&
                          append_simple_reply(std::string_view(data, *n), front.replies);
      if (simple) {
        // nothing for the reader
      } else if (front.raw) {
        if (scanner_.frame_bytes() > max_reply_bytes_) {
          fail(Error(errc::protocol_error, endpoint_ + " sent a reply larger than " +
                                               std::to_string(max_reply_bytes_) +
                                               " bytes (max_reply_bytes)"),
               out);
          return;
        }
        if (front.handler) {  // a cancelled one's are dropped
          if (*n > front.raw_limit - front.raw_bytes.size()) {
            release(front,
                    Error(errc::resource_exhausted,
                          "the replies from " + endpoint_ + " came to more than " +
                              std::to_string(front.raw_limit) + " bytes (the caller's limit)"),
                    out);
            std::string().swap(front.raw_bytes);
          } else {
            front.raw_bytes.append(data, *n);
          }
        }
      } else if (fed < data + *n) {
        // With no raw request waiting, everything left is for the reader: one feed per read.
        const char* upto = raw_pending_ == 0 ? end : data + *n;
        if (auto ok = reader_.feed(fed, static_cast<std::size_t>(upto - fed)); !ok) {
          fail(ok.error(), out);
          return;
        }
        fed = upto;
      }
      data += *n;
      if (fed < data) fed = data;  // raw bytes are never the reader's
      if (!scanner_.done()) {
        // An incomplete parsed reply: the reader still looks at it now, to bound it
        // (max_reply_bytes) and to take a large bulk string over, not only once it is whole.
        if (!front.raw) {
          auto next = reader_.next();
          if (!next) {
            fail(next.error(), out);
            return;
          }
          if (*next) {
            fail(Error(errc::protocol_error,
                       endpoint_ + " sent a reply the reader and the framer disagree on"),
                 out);
            return;
          }
        }
        continue;  // every byte read was scanned
      }
      if (front.raw) {
        front.raw_errors += scanner_.type() == '-' ? 1 : 0;
      } else if (!simple) {
        auto next = reader_.next();
        if (!next) {
          fail(next.error(), out);
          return;
        }
        if (!*next) {
          fail(Error(errc::protocol_error,
                     endpoint_ + " sent a reply the reader and the framer disagree on"),
               out);
          return;
        }
        front.replies.push_back(std::move(**next));
      }
      if (++front.received < front.expected) continue;
      in_flight_ -= front.expected;
      // Built in place, the handler moved straight out of its slot (popped just below).
      if (front.handler && front.raw) {
        out.emplace_back(std::move(*front.handler),
                         RawResult::make(std::move(front.raw_bytes), front.raw_errors));
      } else if (front.handler) {
        out.emplace_back(std::move(*front.handler), std::move(front.replies));
      }
      raw_pending_ -= front.raw ? 1 : 0;
      pending_.pop_front();
    }
  }

  /// While the reply at the front is a large bulk string read directly (RespReader) and at
  /// least `min` bytes of its body are still to come: where the next read may put up to `max`
  /// of them, in the string that reply will own, instead of the read buffer (one copy less).
  /// Report what came with on_direct_read(). Empty otherwise: read into a buffer, on_read().
  std::span<char> direct_room(std::size_t min, std::size_t max) {
    if (error_ || pending_.size() == unwritten_ || pending_.front().raw) return {};
    return reader_.direct_room(min, max);
  }

  /// `size` bytes were read into the room direct_room() gave. They are part of one bulk
  /// string's body, so no request completes here.
  void on_direct_read(std::size_t size, Completions& out) {
    if (error_) {
      reader_.commit_direct(0);
      return;
    }
    reader_.commit_direct(size);
    // The scanner only counts a bulk body's bytes, but it must count them to know where this
    // reply ends.
    if (auto skipped = scanner_.skip_bulk(size); !skipped) fail(skipped.error(), out);
  }

  /// The caller of request `id` gave up: it completes now with errc::cancelled. A request
  /// already written keeps its place (its reply is read and dropped), one not written is
  /// removed. Unknown or finished ids are ignored.
  void cancel(std::uint64_t id, Completions& out) {
    if (id == 0 || error_) return;
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [id](const Pending& p) { return p.id == id; });
    if (it == pending_.end() || !it->handler) return;
    release(*it, Error(errc::cancelled, "redis command cancelled"), out);
    const auto index = static_cast<std::size_t>(it - pending_.begin());
    if (index >= pending_.size() - unwritten_) {
      in_flight_ -= it->expected;
      raw_pending_ -= it->raw ? 1 : 0;
      --unwritten_;
      pending_.erase(it);
    }
  }

  /// The clock says `now`: a request still waiting past its deadline fails the multiplexer
  /// with errc::timeout (RESP replies cannot be skipped, so the connection is done).
  void on_time(Clock::time_point now, Completions& out) {
    if (!error_ && next_deadline() <= now) {
      fail(Error(errc::timeout, "no reply from " + endpoint_ +
                                    " before the command deadline (command_timeout " +
                                    std::to_string(command_timeout_.count()) + "ms)"),
           out);
    }
  }

  /// The earliest deadline of a request someone still waits for (max() when none): the driver
  /// calls on_time() then.
  [[nodiscard]] Clock::time_point next_deadline() const noexcept {
    auto next = Clock::time_point::max();
    for (const auto& p : pending_) {
      if (p.handler && p.deadline < next) next = p.deadline;
    }
    return next;
  }

  /// Fails every request with `error`, and every later submit. The first error wins.
  void fail(Error error, Completions& out) {
    if (error_) return;
    error_ = std::move(error);
    for (auto& p : pending_) {
      if (p.handler) release(p, *error_, out);
    }
    pending_.clear();
    unwritten_ = 0;
    in_flight_ = 0;
    raw_pending_ = 0;
  }

  [[nodiscard]] const std::optional<Error>& error() const noexcept { return error_; }
  /// Replies still expected (including those of cancelled requests already written).
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  /// Requests queued or on the wire (cancelled-but-written ones included).
  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

 private:
  struct Pending {
    Pending(std::uint64_t i, std::size_t e, Clock::time_point d, bool r, Chunk&& c, Handler&& h)
        : id(i), expected(e), deadline(d), borrows(c.borrows()), raw(r), chunk(std::move(c)) {
      handler.emplace(std::move(h));
      if (!raw) replies.reserve(e);
    }
    Pending(Pending&& o) noexcept
        : id(o.id),
          expected(o.expected),
          received(o.received),
          raw_errors(o.raw_errors),
          raw_limit(o.raw_limit),
          deadline(o.deadline),
          borrows(o.borrows),
          raw(o.raw),
          chunk(std::move(o.chunk)),
          replies(std::move(o.replies)) {
      // Only a raw request has bytes here (a short string's move is a memcpy call).
      if (raw) raw_bytes = std::move(o.raw_bytes);
      if (o.handler) handler.emplace(o.take_handler());
    }
    // erase() in the middle move-assigns: rebuild the handler by move construction instead.
    Pending& operator=(Pending&& o) noexcept {
      id = o.id;
      expected = o.expected;
      received = o.received;
      raw_errors = o.raw_errors;
      raw_limit = o.raw_limit;
      deadline = o.deadline;
      borrows = o.borrows;
      raw = o.raw;
      chunk = std::move(o.chunk);
      replies = std::move(o.replies);
      raw_bytes = std::move(o.raw_bytes);
      handler.reset();
      if (o.handler) handler.emplace(o.take_handler());
      return *this;
    }
    Handler take_handler() {
      Handler h(std::move(*handler));
      handler.reset();
      return h;
    }

    std::uint64_t id;
    std::size_t expected;
    std::size_t received = 0;             // replies read so far
    std::size_t raw_errors = 0;           // raw: error replies among them
    std::size_t raw_limit = kNoRawLimit;  // raw: most bytes raw_bytes may hold (submit)
    Clock::time_point deadline;
    bool borrows;  // its chunk points at the caller's bytes
    bool raw;      // Framing::raw: raw_bytes collects the replies' bytes, replies stays empty
    Chunk chunk;   // moved to the write batch once written
    std::vector<Reply> replies;
    std::string raw_bytes;
    std::optional<Handler> handler;  // empty once cancelled: the replies are read and dropped
  };

  // Completes `p`'s caller with `result` early (cancel, failure). While the current write may
  // still read bytes the caller lent (a gathered large argument), the completion is held back
  // until on_written(): the caller would otherwise free them under the write.
  void release(Pending& p, const Error& error, Completions& out) {
    const bool lent_to_write =
        p.borrows && !writing_.empty() && p.id >= writing_ids_.first && p.id <= writing_ids_.second;
    (lent_to_write ? held_ : out).emplace_back(p.take_handler(), error);
  }

  std::string endpoint_;
  std::chrono::milliseconds command_timeout_;
  std::size_t max_reply_bytes_;
  RespFrameScanner scanner_;     // where each reply ends, for every byte read
  RespReader reader_;            // parses the parsed requests' replies
  std::size_t raw_pending_ = 0;  // raw requests in pending_
  static constexpr std::size_t kInitialPending = 8;
  // Wire order; the last `unwritten_` are not written yet. Never full when pushed to (submit
  // grows it first): a full circular_buffer would overwrite its front.
  boost::circular_buffer<Pending> pending_;
  std::size_t unwritten_ = 0;
  std::size_t in_flight_ = 0;
  std::uint64_t next_id_ = 1;
  bool writer_active_ = false;
  std::vector<Chunk> writing_;  // the chunks of the write in progress
  std::vector<boost::asio::const_buffer> buffers_;
  std::pair<std::uint64_t, std::uint64_t> writing_ids_{0, 0};  // first and last id written
  Completions held_;  // completed early, released after the write that borrows their bytes
  std::optional<Error> error_;
};

}  // namespace connpool::redis::detail
