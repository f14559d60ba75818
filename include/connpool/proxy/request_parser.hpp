// RequestParser: splits the bytes a proxy client sends into commands (RESP2 multibulk requests
// and inline commands, as redis-server accepts them). I/O-free: feed() bytes as they arrive,
// then call next() until it says it needs more.
//
// Bounded: a request larger than max_request_bytes, with more than max_args arguments, or an
// inline line longer than max_inline_bytes is a protocol error whose message names the limit.
// After an error the parser stays failed (the proxy answers the error and closes the client, as
// redis-server does): nothing a client sends can make it allocate beyond the limits, loop, or
// crash.
//
// Thread safety: none; one parser per client connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::proxy {

struct ParserLimits {
  /// Largest request (all of its bytes on the wire). Default 64 MiB; must be > 0.
  std::size_t max_request_bytes = 64u << 20;
  /// Most arguments in one request. Default 1048576 (redis-server's own limit); must be > 0.
  std::size_t max_args = 1u << 20;
  /// Longest inline command line (telnet style). Default 64 KiB (redis-server's own limit).
  std::size_t max_inline_bytes = 64u << 10;
};

class RequestParser {
 public:
  enum class Status { request, need_more, error };

  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  /// Appends received bytes. Ignored once the parser has failed.
  void feed(std::string_view bytes);
  /// The next complete request into `args` (replacing its contents). `need_more` when the
  /// buffered bytes do not hold a complete request; `error` (for good) on bad input.
  Status next(std::vector<std::string>& args);
  /// Why the input was refused, in redis-server's words ("Protocol error: ..."), for a
  /// `-ERR` reply. Empty unless next() returned error.
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  /// The wire bytes of the request next() just returned when it was a RESP multibulk request
  /// (checked: forwarding them is the same as re-encoding the arguments); empty for an inline
  /// one. Valid until the next feed() or next().
  [[nodiscard]] std::string_view last_wire() const noexcept {
    return std::string_view(buffer_).substr(wire_start_, wire_size_);
  }
  /// Bytes received but not yet consumed by a complete request.
  [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }

 private:
  Status parse_multibulk(std::vector<std::string>& args);
  Status parse_inline(std::vector<std::string>& args);
  Status fail(std::string message);
  // Reads a "\r\n"-terminated line at pos_; false when not complete yet.
  bool read_line(std::string_view& line);
  void finish_request();

  ParserLimits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ belonging to requests already returned
  std::size_t pos_ = 0;       // parse position inside the current request (absolute)
  // The multibulk request being parsed, kept across feed() calls so a large request arriving
  // in many reads is parsed once, not again from its start each time.
  long long expected_args_ = -1;  // -1: header not read yet
  long long bulk_len_ = -1;       // -1: next is a $<len> header
  // The arguments so far; its first partial_count_ strings are this request's. The strings
  // past it are the previous requests', kept for their capacity: next() swaps its `args` in
  // here, so a caller that hands the same vector back gets its strings reused (no allocation
  // per argument in a steady stream of requests).
  std::vector<std::string> partial_;
  std::size_t partial_count_ = 0;
  std::size_t wire_start_ = 0;  // last_wire(): where in buffer_, and how long (0: none)
  std::size_t wire_size_ = 0;
  std::string error_;
};

/// Splits an inline command line like redis-server (sdssplitargs): spaces separate arguments,
/// "double quotes" take \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' take \'. False for
/// unbalanced quotes.
bool split_inline(std::string_view line, std::vector<std::string>& args);

}  // namespace connpool::proxy
