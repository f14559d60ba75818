// RESP2 framing on top of hiredis 0.14: its reader parses replies straight into connpool's Reply
// (custom object functions, so no redisReply tree is built and copied); request bytes are
// formatted here. Internal to the Redis backend; keeps hiredis out of public headers.
#pragma once

#include "connpool/redis/reply.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct redisReader;

namespace connpool::redis::detail {

/// Default bound of one reply and of one command: Redis's own proto-max-bulk-len (512 MiB).
inline constexpr std::size_t kDefaultMaxReplyBytes = std::size_t{512} * 1024 * 1024;
inline constexpr std::size_t kDefaultMaxCommandBytes = std::size_t{512} * 1024 * 1024;
/// Bulk strings at least this long bypass hiredis's buffer (RespReader).
inline constexpr std::size_t kDirectBulkMin = 64 * 1024;

/// Incremental reply parser. Not thread-safe: owned by one connection's reader.
///
/// A large top-level bulk string (kDirectBulkMin bytes or more: a GET of a large value) is
/// not parsed by hiredis: once its header is known, its body is appended straight into the
/// string the Reply will own, so each byte is copied once after the socket read (hiredis
/// would copy it into its buffer, grow that buffer, then copy it again into the Reply).
///
/// A reply is bounded by `max_reply_bytes`: its wire bytes plus a per-element charge (so a
/// huge array of tiny elements counts what it costs in memory, not only on the wire). A reply
/// that goes over it, or a bulk header announcing more, is errc::protocol_error. Memory is
/// never reserved from an announced length: the buffer grows only as bytes arrive.
class RespReader {
 public:
  explicit RespReader(std::size_t max_reply_bytes = kDefaultMaxReplyBytes);
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  /// Appends received bytes.
  Result<void> feed(const char* data, std::size_t size);
  /// The next complete reply, nothing when more bytes are needed, or errc::protocol_error.
  /// After a protocol error the reader is unusable (and so is the connection).
  Result<std::optional<Reply>> next();
  /// While a large bulk string is taken over and at least `min` bytes of its body are still
  /// to come: room for up to `max` of them at the end of the string the Reply will own, so
  /// the socket can be read straight into it (commit_direct() then says how many came).
  /// Never covers the closing CRLF, so a direct read never completes a reply. Empty otherwise.
  std::span<char> direct_room(std::size_t min, std::size_t max);
  /// `n` bytes were read into the start of the room direct_room() gave (n <= its size); the
  /// rest of the room is handed out again by the next direct_room().
  void commit_direct(std::size_t n) noexcept;
  /// Large bulk strings read directly so far (for tests).
  [[nodiscard]] std::size_t direct_bulks() const noexcept { return direct_bulks_; }

 private:
  friend struct ReaderAccess;
  Error too_large(std::size_t seen) const;
  // When hiredis waits inside a large top-level bulk string, takes its body over (direct_).
  void take_over_large_bulk();
  Result<void> feed_direct(const char*& data, std::size_t& size);

  redisReader* reader_;
  std::size_t max_reply_bytes_;
  std::size_t reply_bytes_ = 0;   // bytes of the current reply the parser already consumed
  std::size_t object_bytes_ = 0;  // the in-memory charge of its elements built so far
  // The large bulk string being read directly: its body and CRLF so far, the bytes still to
  // come (0: none in progress), and whether it is complete and waits for next().
  std::string direct_;
  std::size_t direct_left_ = 0;
  std::size_t direct_room_ = 0;  // zero-filled room at the end of direct_, not read into yet
  bool direct_done_ = false;
  std::size_t direct_bulks_ = 0;
  // The last top-level reply's heap object, reused for the next one (one allocation less per
  // reply: hiredis wants a heap object it can free on error).
  std::unique_ptr<Reply> spare_root_;
};

/// A whole top-level reply that is one line ('+', '-', ':') or one bulk string ('$'), exactly
/// `frame` as RespFrameScanner delimited it, appended to `out` as the reader would build it,
/// without hiredis (its reader costs more than such a reply's bytes: most replies are these).
/// False, with nothing appended, for anything else or any form read differently by hiredis
/// (arrays, a line not ended by CRLF, an integer that is not canonical...): RespReader then
/// parses it.
bool append_simple_reply(std::string_view frame, std::vector<Reply>& out);

/// One command in RESP wire form, in one buffer. A small command (kPooledCommandBytes or less:
/// most GETs and SETs) takes a block from a per-thread freelist instead of malloc: with many
/// callers in flight malloc's own per-thread cache (7 blocks a size) overflows, and each
/// command paid a full malloc and free. A block freed on another thread joins that thread's
/// list (bounded); AddressSanitizer builds use malloc only, so it still sees every misuse.
class FormattedCommand {
 public:
  FormattedCommand() = default;
  // Inline check: a moved-from command (several per request) costs no call.
  ~FormattedCommand() {
    if (data_ != nullptr) release();
  }
  FormattedCommand(FormattedCommand&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  FormattedCommand& operator=(FormattedCommand&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  FormattedCommand(const FormattedCommand&) = delete;
  FormattedCommand& operator=(const FormattedCommand&) = delete;

  /// Formats `args` (binary-safe) as a RESP array of bulk strings. A command whose wire size
  /// exceeds `max_bytes` (or that has no argument) is errc::invalid_argument, refused before
  /// anything is allocated; never more than INT_MAX bytes (the bound of hiredis 0.14's
  /// formatter, which summed the lengths in an int, kept for the batch and gather paths).
  static Result<FormattedCommand> format(std::span<const std::string_view> args,
                                         std::size_t max_bytes = kDefaultMaxCommandBytes);
  /// What format() checks first: arguments present, wire size within `max_bytes` (and INT_MAX).
  static Result<void> check_size(std::span<const std::string_view> args,
                                 std::size_t max_bytes = kDefaultMaxCommandBytes);
  /// The RESP wire size of `args` ("*<n>\r\n" then "$<len>\r\n<arg>\r\n" each), computed
  /// without overflow (saturates at SIZE_MAX).
  static std::size_t wire_size(std::span<const std::string_view> args) noexcept;

  [[nodiscard]] const char* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Commands up to this size use the freelist's fixed-size blocks.
  static constexpr std::size_t kPooledCommandBytes = 256;

 private:
  void release() noexcept;

  char* data_ = nullptr;
  std::size_t size_ = 0;  // also tells release() whether the block is the freelist's
};

}  // namespace connpool::redis::detail
