// RespFrameScanner: finds where each RESP2 reply ends in a byte stream, building nothing.
//
// The Multiplexer runs every byte it reads through it, so it knows which bytes answer which
// request: a parsed request's bytes go on to the hiredis reader, a raw request's bytes are
// handed to the caller as they came (the proxy forwards them without a Reply tree and its
// re-encoding). Resumable: a reply may arrive in any number of reads, split anywhere.
//
// Bounded: a length has at most 32 digits (saturating past 18), arrays nest at most kMaxDepth deep,
// and frame_bytes() lets the caller bound a reply's size. Anything that is not RESP2 is
// errc::protocol_error, and the scanner stays failed.
//
// Not thread-safe: owned by one Multiplexer.
#pragma once

#include "connpool/core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace connpool::redis::detail {

class RespFrameScanner {
 public:
  /// Deeper nesting than any Redis command replies with; hiredis 0.14 stops at 7.
  static constexpr std::size_t kMaxDepth = 64;

  /// Reads the current reply's bytes from the start of `data`: returns how many belong to it
  /// (all of `size` unless the reply ends before). done() tells whether it ended there.
  Result<std::size_t> scan(const char* data, std::size_t size);

  /// `size` bytes of the bulk string body being scanned went by without being looked at
  /// (read straight into their final string): errc::protocol_error unless the scanner is in a
  /// bulk body with at least that many bytes left.
  Result<void> skip_bulk(std::size_t size);

  /// The reply the last scan() read is complete; the next scan() starts a new one.
  [[nodiscard]] bool done() const noexcept { return done_; }
  /// The next scan() starts a new reply (nothing of the current one scanned yet).
  [[nodiscard]] bool at_frame_start() const noexcept {
    return done_ || (frame_bytes_ == 0 && state_ == State::type);
  }
  /// The first byte of the current (or just completed) reply: '-' for an error reply.
  [[nodiscard]] char type() const noexcept { return type_; }
  /// Bytes of the current (or just completed) reply scanned so far.
  [[nodiscard]] std::size_t frame_bytes() const noexcept { return frame_bytes_; }

 private:
  enum class State : std::uint8_t { type, line, number, number_lf, bulk, bulk_cr, bulk_lf };

  Result<std::size_t> bad(const char* what);
  // One element ended: true when it was the last one of the reply.
  bool element_done() noexcept;

  State state_ = State::type;
  bool done_ = false;
  bool failed_ = false;
  char type_ = 0;
  char header_ = 0;  // '$' or '*' while its length is read
  bool negative_ = false;
  int digits_ = 0;
  long long number_ = 0;
  std::size_t bulk_left_ = 0;
  std::size_t frame_bytes_ = 0;
  std::vector<long long> open_;  // elements still expected by each open array, outermost first
};

}  // namespace connpool::redis::detail
