#include "resp.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace connpool::redis::detail {

/// The object functions' way back to their reader (hiredis passes the reader's privdata to
/// every task).
struct ReaderAccess {
  static void charge(void* privdata) noexcept {
    if (privdata != nullptr) static_cast<RespReader*>(privdata)->object_bytes_ += sizeof(Reply);
  }
  // The heap object a new top-level reply is built in: the reader's spare (the previous
  // root, moved from) when it has one, so a reply costs no allocation of its own.
  static Reply* new_root(void* privdata, Reply&& value) {
    if (privdata != nullptr) {
      auto& spare = static_cast<RespReader*>(privdata)->spare_root_;
      if (spare) {
        *spare = std::move(value);
        return spare.release();
      }
    }
    return new (std::nothrow) Reply(std::move(value));
  }
};

namespace {

// The reader keeps consumed bytes until `maxbuf` of free space accumulates; hiredis' default
// (16 KiB) makes every large reply and every deep pipeline burst free and regrow its buffer.
// 1 MiB keeps a busy connection's buffer warm while idle connections stay cheap.
constexpr std::size_t kReaderMaxBuf = 1024 * 1024;

// A large bulk string's buffer is reserved from its announced length (so appending never
// reallocates and copies), but only up to this much: a peer announcing max_reply_bytes and
// sending nothing costs at most this (untouched, so not resident) reservation.
constexpr std::size_t kMaxDirectReserve = std::size_t{16} * 1024 * 1024;

// An array's announced length comes from the peer: at most this many elements are reserved up
// front, the rest as they arrive. Trusting it let "*366666666\r\n" allocate and initialise
// gigabytes before a single element came (found by fuzz/resp_fuzz.cpp).
constexpr std::size_t kMaxArrayReserve = 1024;

// Objects are created in place: the root is heap-allocated, children live inside their
// parent's element vector (hiredis creates an array before its elements and tells each child
// its parent and index; children arrive in index order, and a child is complete before the
// next one is placed, so growing the parent's vector never moves an element still being read).
Reply* place(const redisReadTask* task, Reply value) {
  ReaderAccess::charge(task->privdata);
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    auto& elements = parent->elements();
    const auto idx = static_cast<std::size_t>(task->idx);
    if (elements.size() <= idx) elements.resize(idx + 1);
    Reply& slot = elements[idx];
    slot = std::move(value);
    return &slot;
  }
  return ReaderAccess::new_root(task->privdata, std::move(value));
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  std::string bytes(str, len);
  switch (task->type) {
    case REDIS_REPLY_ERROR:
      return place(task, Reply::error(std::move(bytes)));
    case REDIS_REPLY_STATUS:
      return place(task, Reply::status(std::move(bytes)));
    default:
      return place(task, Reply::string(std::move(bytes)));
  }
}
void* create_array(const redisReadTask* task, int elements) {
  std::vector<Reply> storage;
  storage.reserve(std::min(static_cast<std::size_t>(std::max(elements, 0)), kMaxArrayReserve));
  return place(task, Reply::array(std::move(storage)));
}
void* create_integer(const redisReadTask* task, long long value) {
  return place(task, Reply::integer(value));
}
void* create_nil(const redisReadTask* task) {
  return place(task, Reply::nil());
}
// hiredis frees only the root (on error or when a caller discards it); children belong to it.
void free_object(void* obj) {
  delete static_cast<Reply*>(obj);
}

redisReplyObjectFunctions kFunctions = {create_string, create_array, create_integer, create_nil,
                                        free_object};

// The per-thread freelist of FormattedCommand blocks (see resp.hpp). Bounded: at most
// kMaxFreeBlocks blocks (64 KiB) a thread. `t_blocks_gone` (trivially destructible, so still
// readable) tells a command destroyed during thread exit, after the list, to use free().
#if defined(__SANITIZE_ADDRESS__)
#define CONNPOOL_RESP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONNPOOL_RESP_ASAN 1
#endif
#endif
#if defined(CONNPOOL_RESP_ASAN)
constexpr bool kPoolBlocks = false;
#else
constexpr bool kPoolBlocks = true;
#endif
constexpr std::size_t kBlockBytes = FormattedCommand::kPooledCommandBytes;
constexpr std::size_t kMaxFreeBlocks = 256;
thread_local bool t_blocks_gone = false;
struct FreeBlocks {
  std::array<char*, kMaxFreeBlocks> blocks{};
  std::size_t count = 0;
  ~FreeBlocks() {
    t_blocks_gone = true;
    for (std::size_t i = 0; i < count; ++i) std::free(blocks[i]);
  }
};
thread_local FreeBlocks t_blocks;

char* acquire_block(std::size_t size) {
  const bool pooled = kPoolBlocks && size <= kBlockBytes;
  if (pooled && !t_blocks_gone && t_blocks.count > 0) return t_blocks.blocks[--t_blocks.count];
  char* const out = static_cast<char*>(std::malloc(pooled ? kBlockBytes : size));
  if (out == nullptr) throw std::bad_alloc();
  return out;
}

void release_block(char* block, std::size_t size) noexcept {
  if (kPoolBlocks && size <= kBlockBytes && !t_blocks_gone && t_blocks.count < kMaxFreeBlocks) {
    t_blocks.blocks[t_blocks.count++] = block;
    return;
  }
  std::free(block);
}

}  // namespace

RespReader::RespReader(std::size_t max_reply_bytes)
    : reader_(redisReaderCreateWithFunctions(&kFunctions)), max_reply_bytes_(max_reply_bytes) {
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->maxbuf = kReaderMaxBuf;
  reader_->privdata = this;
}

RespReader::~RespReader() {
  redisReaderFree(reader_);
}

Result<void> RespReader::feed_direct(const char*& data, std::size_t& size) {
  if (direct_room_ > 0) {  // bytes came through the buffer after all: drop the unused room
    direct_.resize(direct_.size() - direct_room_);
    direct_room_ = 0;
  }
  const std::size_t n = std::min(size, direct_left_);
  direct_.append(data, n);
  data += n;
  size -= n;
  direct_left_ -= n;
  if (direct_left_ > 0) return ok();
  const std::size_t len = direct_.size();
  if (len < 2 || direct_[len - 2] != '\r' || direct_[len - 1] != '\n') {
    return Error(errc::protocol_error, "malformed RESP from server: bulk string not ended by CRLF");
  }
  direct_.resize(len - 2);
  direct_done_ = true;
  return ok();
}

std::span<char> RespReader::direct_room(std::size_t min, std::size_t max) {
  // Room made earlier and not filled yet comes first: each body byte is zero-filled once.
  if (direct_room_ > 0) {
    return {direct_.data() + direct_.size() - direct_room_, direct_room_};
  }
  // The body still to come, without its CRLF (which feed_direct checks).
  const std::size_t body_left = direct_left_ > 2 ? direct_left_ - 2 : 0;
  if (body_left < min || body_left == 0) return {};
  const std::size_t n = std::min(body_left, max);
  const std::size_t at = direct_.size();
  // resize() zero-fills the room (C++20 has no resize_and_overwrite); that is still cheaper
  // than a copy out of the read buffer, and the reservation made at take-over means no move
  // up to 16 MiB. The room stays until filled, so at most `max` bytes are touched ahead of
  // the bytes that came.
  direct_.resize(at + n);
  direct_room_ = n;
  return {direct_.data() + at, n};
}

void RespReader::commit_direct(std::size_t n) noexcept {
  n = std::min(n, direct_room_);
  direct_room_ -= n;
  direct_left_ -= n;
}

Result<void> RespReader::feed(const char* data, std::size_t size) {
  if (direct_left_ > 0) {
    if (auto fed = feed_direct(data, size); !fed) return fed;
    if (size == 0) return ok();
  }
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    return Error(errc::protocol_error, std::string("RESP reader: ") + reader_->errstr);
  }
  return ok();
}

Error RespReader::too_large(std::size_t seen) const {
  return Error(errc::protocol_error, "reply from server exceeds max_reply_bytes (" +
                                         std::to_string(max_reply_bytes_) + " bytes; " +
                                         std::to_string(seen) + " seen)");
}

void RespReader::take_over_large_bulk() {
  // hiredis waits in a top-level bulk string with its '$' consumed: "<len>\r\n<body so far>".
  if (reader_->ridx != 0 || reader_->rstack[0].type != REDIS_REPLY_STRING) return;
  const char* item = reader_->buf + reader_->pos;
  const std::size_t unread = reader_->len - reader_->pos;
  std::size_t announced = 0;
  std::size_t digits = 0;
  while (digits < unread && digits < 19 && item[digits] >= '0' && item[digits] <= '9') {
    announced = announced * 10 + static_cast<std::size_t>(item[digits] - '0');
    ++digits;
  }
  if (digits == 0 || digits + 1 >= unread || item[digits] != '\r' || item[digits + 1] != '\n') {
    return;  // no complete header yet (or "$-1": nil), hiredis goes on
  }
  const std::size_t header = digits + 2;
  const std::size_t body_here = unread - header;
  // next() refused a length above max_reply_bytes already; a complete one is hiredis's.
  if (announced < kDirectBulkMin || body_here >= announced + 2) return;
  direct_.clear();
  direct_room_ = 0;
  direct_.reserve(std::min(announced + 2, kMaxDirectReserve));
  direct_.append(item + header, body_here);
  direct_left_ = announced + 2 - body_here;
  ++direct_bulks_;
  // hiredis forgets the reply it started: every byte it holds is now ours, and with ridx -1
  // its next call starts a new top-level reply.
  reader_->pos = reader_->len;
  reader_->ridx = -1;
}

Result<std::optional<Reply>> RespReader::next() {
  if (direct_done_) {
    direct_done_ = false;
    reply_bytes_ = 0;
    object_bytes_ = 0;
    return std::optional<Reply>(Reply::string(std::exchange(direct_, std::string())));
  }
  if (direct_left_ > 0) return std::optional<Reply>{};
  void* obj = nullptr;
  const std::size_t unread_before = reader_->len - reader_->pos;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
    return Error(errc::protocol_error, std::string("malformed RESP from server: ") +
                                           (reader_->errstr[0] ? reader_->errstr : "parse error"));
  }
  // The unread tail survives hiredis' buffer compaction, so the difference is what the parser
  // consumed (into the reply it returned, or into the one still being built).
  const std::size_t unread = reader_->len - reader_->pos;
  if (obj != nullptr) {
    reply_bytes_ = 0;
    object_bytes_ = 0;
    std::unique_ptr<Reply> owned(static_cast<Reply*>(obj));
    std::optional<Reply> reply(std::move(*owned));
    *owned = Reply::nil();  // drops what the move left (e.g. an array's emptied vector)
    spare_root_ = std::move(owned);
    return reply;
  }
  reply_bytes_ += unread_before - unread;
  const std::size_t seen = reply_bytes_ + object_bytes_ + unread;
  if (seen > max_reply_bytes_) return too_large(seen);
  // The parser waits at the item it cannot finish yet (its type byte already consumed): a bulk
  // header announcing more than the limit is refused now, not after max_reply_bytes of data.
  const char* item = reader_->buf + reader_->pos;
  if (reader_->ridx >= 0 && reader_->rstack[reader_->ridx].type == REDIS_REPLY_STRING &&
      unread > 0) {
    std::size_t announced = 0;
    for (std::size_t i = 0; i < unread && item[i] >= '0' && item[i] <= '9'; ++i) {
      if (announced > max_reply_bytes_) break;
      announced = announced * 10 + static_cast<std::size_t>(item[i] - '0');
    }
    if (announced > max_reply_bytes_ ||
        reply_bytes_ + object_bytes_ + announced > max_reply_bytes_) {
      return Error(errc::protocol_error,
                   "reply from server announces a bulk string above max_reply_bytes (" +
                       std::to_string(max_reply_bytes_) + " bytes)");
    }
  }
  take_over_large_bulk();
  return std::optional<Reply>{};
}

namespace {

// A number in the one form every hiredis version reads the same ("0", or an optional '-' and
// no leading zero, within long long); false for anything else, which is then left to hiredis
// (0.14 refuses "-0" and leading zeros, for one).
bool canonical_number(std::string_view text, long long& value) {
  const std::size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == sign || (text[sign] == '0' && text.size() > 1)) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

bool append_simple_reply(std::string_view frame, std::vector<Reply>& out) {
  const std::size_t size = frame.size();
  if (size < 3 || frame[size - 2] != '\r' || frame[size - 1] != '\n') return false;
  // A line's text: the scanner ended the frame at its first '\n', so no CRLF comes earlier
  // and hiredis's line is the same bytes.
  const std::string_view line = frame.substr(1, size - 3);
  switch (frame[0]) {
    case '+':
      out.push_back(Reply::status(std::string(line)));
      return true;
    case '-':
      out.push_back(Reply::error(std::string(line)));
      return true;
    case ':': {
      long long value = 0;
      if (!canonical_number(line, value)) return false;
      out.push_back(Reply::integer(value));
      return true;
    }
    case '$': {
      if (line == "-1") {
        out.push_back(Reply::nil());
        return true;
      }
      const std::size_t cr = frame.find('\r');
      long long len = 0;
      // "$<len>\r\n<len bytes>\r\n" exactly (the scanner checked it).
      if (!canonical_number(frame.substr(1, cr - 1), len) || len < 0 ||
          cr + 2 + static_cast<std::size_t>(len) + 2 != size) {
        return false;
      }
      out.push_back(
          Reply::string(std::string(frame.substr(cr + 2, static_cast<std::size_t>(len)))));
      return true;
    }
    default:
      return false;
  }
}

std::size_t FormattedCommand::wire_size(std::span<const std::string_view> args) noexcept {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  const auto digits = [](std::size_t n) {
    std::size_t d = 1;
    while (n >= 10) {
      n /= 10;
      ++d;
    }
    return d;
  };
  std::size_t total = 1 + digits(args.size()) + 2;  // *<n>\r\n
  for (const std::string_view arg : args) {
    const std::size_t item = 1 + digits(arg.size()) + 2 + 2;  // $<len>\r\n ... \r\n
    if (arg.size() > kMax - item || total > kMax - item - arg.size()) return kMax;
    total += item + arg.size();
  }
  return total;
}

namespace {

// check_size() on a size already computed (format() needs the size itself, too).
Result<void> check_wire_size(std::span<const std::string_view> args, std::size_t size,
                             std::size_t max_bytes) {
  if (args.empty()) return Error(errc::invalid_argument, "empty Redis command");
  // Whatever the configured limit, INT_MAX is the hard one (hiredis's formatter summed sizes in
  // an int; the bound is kept so that no path accepts more than it did).
  const std::size_t limit =
      std::min(max_bytes, static_cast<std::size_t>(std::numeric_limits<int>::max()));
  if (size > limit) {
    // The arguments are not quoted (they may be secrets): only the command's size.
    return Error(errc::invalid_argument, "Redis command of " + std::to_string(size) +
                                             " bytes exceeds the " + std::to_string(limit) +
                                             "-byte limit (Redis's proto-max-bulk-len)");
  }
  return ok();
}

}  // namespace

Result<void> FormattedCommand::check_size(std::span<const std::string_view> args,
                                          std::size_t max_bytes) {
  return check_wire_size(args, wire_size(args), max_bytes);
}

Result<FormattedCommand> FormattedCommand::format(std::span<const std::string_view> args,
                                                  std::size_t max_bytes) {
  const std::size_t size = wire_size(args);
  if (auto fits = check_wire_size(args, size, max_bytes); !fits) return fits.error();
  // Written here, not by redisFormatCommandArgv: hiredis builds each header with sprintf,
  // which was the largest single user-space cost of a small command. The size is exact
  // (wire_size), so one allocation and no bounds checks in the loop.
  char* const out = acquire_block(size);
  char* p = out;
  const auto header = [&p](char tag, std::size_t n) {
    *p++ = tag;
    p = std::to_chars(p, p + std::numeric_limits<std::size_t>::digits10 + 1, n).ptr;
    *p++ = '\r';
    *p++ = '\n';
  };
  header('*', args.size());
  for (const std::string_view arg : args) {
    header('$', arg.size());
    if (!arg.empty()) std::memcpy(p, arg.data(), arg.size());
    p += arg.size();
    *p++ = '\r';
    *p++ = '\n';
  }
  FormattedCommand cmd;
  cmd.data_ = out;
  cmd.size_ = static_cast<std::size_t>(p - out);
  return cmd;
}

void FormattedCommand::release() noexcept {
  if (data_ != nullptr) release_block(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace connpool::redis::detail
