// RESP2 reply framing without parsing (see resp_frame.hpp).
#include "resp_frame.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace connpool::redis::detail {

namespace {
constexpr int kMaxDigits = 32;                               // a longer length line is not RESP
constexpr long long kSaturated = 1'000'000'000'000'000'000;  // 10^18
}  // namespace

Result<std::size_t> RespFrameScanner::bad(const char* what) {
  failed_ = true;
  return Error(errc::protocol_error, std::string("malformed RESP from server: ") + what);
}

bool RespFrameScanner::element_done() noexcept {
  state_ = State::type;
  while (!open_.empty()) {
    if (--open_.back() > 0) return false;
    open_.pop_back();
  }
  return true;
}

Result<void> RespFrameScanner::skip_bulk(std::size_t size) {
  if (failed_ || done_ || state_ != State::bulk || size > bulk_left_) {
    failed_ = true;
    return Error(errc::protocol_error, "RESP framer: bytes skipped outside a bulk string body");
  }
  bulk_left_ -= size;
  frame_bytes_ += size;
  if (bulk_left_ == 0) state_ = State::bulk_cr;
  return ok();
}

Result<std::size_t> RespFrameScanner::scan(const char* data, std::size_t size) {
  if (failed_) return Error(errc::protocol_error, "malformed RESP from server");
  if (done_) {
    done_ = false;
    frame_bytes_ = 0;
  }
  std::size_t i = 0;
  // Every branch consumes at least one byte or finishes the reply, so this always ends.
  while (i < size) {
    switch (state_) {
      case State::type: {
        const char c = data[i++];
        if (open_.empty()) type_ = c;
        if (c == '+' || c == '-' || c == ':') {
          state_ = State::line;
        } else if (c == '$' || c == '*') {
          header_ = c;
          negative_ = false;
          digits_ = 0;
          number_ = 0;
          state_ = State::number;
        } else {
          return bad("unknown RESP2 type byte");
        }
        break;
      }
      case State::line: {
        // Status, error and integer lines are forwarded as they are: only their end matters.
        const void* nl = std::memchr(data + i, '\n', size - i);
        if (nl == nullptr) {
          i = size;
          break;
        }
        i = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
        if (element_done()) {
          done_ = true;
          frame_bytes_ += i;
          return i;
        }
        break;
      }
      case State::number: {
        const char c = data[i++];
        if (c == '\r' && digits_ > 0) {
          state_ = State::number_lf;
        } else if (c == '-' && digits_ == 0 && !negative_) {
          negative_ = true;
        } else if (c >= '0' && c <= '9' && digits_ < kMaxDigits) {
          // Past 18 digits the length saturates (no overflow): no reply is that large, and the
          // reply's bound (max_reply_bytes, checked by the caller) then names the problem.
          number_ = digits_ < 18 ? number_ * 10 + (c - '0') : kSaturated;
          ++digits_;
        } else {
          return bad("invalid length");
        }
        break;
      }
      case State::number_lf: {
        if (data[i++] != '\n') return bad("length not terminated by CRLF");
        const long long n = negative_ ? -number_ : number_;
        if (n < -1) return bad("negative length");
        if (n <= 0 && (n == -1 || header_ == '*')) {  // nil, or an empty array: no body
          if (element_done()) {
            done_ = true;
            frame_bytes_ += i;
            return i;
          }
        } else if (header_ == '$') {
          bulk_left_ = static_cast<std::size_t>(n);
          state_ = State::bulk;
        } else {
          if (open_.size() >= kMaxDepth) return bad("arrays nested too deeply");
          open_.push_back(n);
          state_ = State::type;
        }
        break;
      }
      case State::bulk: {
        const std::size_t take = std::min(bulk_left_, size - i);
        i += take;
        bulk_left_ -= take;
        if (bulk_left_ == 0) state_ = State::bulk_cr;
        break;
      }
      case State::bulk_cr:
        if (data[i++] != '\r') return bad("bulk string not terminated by CRLF");
        state_ = State::bulk_lf;
        break;
      case State::bulk_lf:
        if (data[i++] != '\n') return bad("bulk string not terminated by CRLF");
        if (element_done()) {
          done_ = true;
          frame_bytes_ += i;
          return i;
        }
        break;
    }
  }
  frame_bytes_ += i;
  return i;
}

}  // namespace connpool::redis::detail
