// RESP2 request parsing for the proxy (see request_parser.hpp).
#include "connpool/proxy/request_parser.hpp"

#include "connpool/core/detail/hex.hpp"

#include <charconv>
#include <utility>

namespace connpool::proxy {

namespace {

// A RESP length: digits with an optional leading '-'; false for anything else.
bool parse_length(std::string_view text, long long& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

using core::detail::hex_value;

}  // namespace

void RequestParser::feed(std::string_view bytes) {
  if (!error_.empty()) return;
  wire_start_ = wire_size_ = 0;  // the buffer may move
  // Drop what earlier requests used once it is most of the buffer, so a long-lived pipelining
  // client does not grow the buffer forever while copying stays amortised O(1) per byte.
  if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
    buffer_.erase(0, consumed_);
    pos_ -= consumed_;
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

RequestParser::Status RequestParser::fail(std::string message) {
  error_ = std::move(message);
  buffer_.clear();
  buffer_.shrink_to_fit();
  partial_.clear();
  partial_count_ = 0;
  consumed_ = pos_ = 0;
  wire_start_ = wire_size_ = 0;
  return Status::error;
}

bool RequestParser::read_line(std::string_view& line) {
  const auto at = buffer_.find("\r\n", pos_);
  if (at == std::string::npos) return false;
  line = std::string_view(buffer_).substr(pos_, at - pos_);
  pos_ = at + 2;
  return true;
}

void RequestParser::finish_request() {
  consumed_ = pos_;
  expected_args_ = -1;
  bulk_len_ = -1;
}

RequestParser::Status RequestParser::next(std::vector<std::string>& args) {
  if (!error_.empty()) return Status::error;
  wire_size_ = 0;
  for (;;) {
    if (expected_args_ < 0) {
      pos_ = consumed_;
      if (pos_ >= buffer_.size()) return Status::need_more;
      if (buffer_[pos_] != '*') {
        const auto status = parse_inline(args);
        // An empty inline line is skipped, as redis-server does.
        if (status == Status::request && args.empty()) continue;
        return status;
      }
    }
    return parse_multibulk(args);
  }
}

RequestParser::Status RequestParser::parse_inline(std::vector<std::string>& args) {
  const auto at = buffer_.find('\n', pos_);
  if (at == std::string::npos) {
    if (buffer_.size() - pos_ > limits_.max_inline_bytes) {
      return fail("Protocol error: too big inline request (limit: max_inline_bytes " +
                  std::to_string(limits_.max_inline_bytes) + ")");
    }
    return Status::need_more;
  }
  if (at - pos_ > limits_.max_inline_bytes) {
    return fail("Protocol error: too big inline request (limit: max_inline_bytes " +
                std::to_string(limits_.max_inline_bytes) + ")");
  }
  std::string_view line = std::string_view(buffer_).substr(pos_, at - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  args.clear();
  if (!split_inline(line, args)) {
    return fail("Protocol error: unbalanced quotes in request");
  }
  if (args.size() > limits_.max_args) {
    return fail("Protocol error: too many arguments (limit: max_args " +
                std::to_string(limits_.max_args) + ")");
  }
  pos_ = at + 1;
  finish_request();
  return Status::request;
}

RequestParser::Status RequestParser::parse_multibulk(std::vector<std::string>& args) {
  if (expected_args_ < 0) {
    std::string_view line;
    if (!read_line(line)) {
      if (buffer_.size() - consumed_ > 32) return fail("Protocol error: invalid multibulk length");
      return Status::need_more;
    }
    long long n = 0;
    if (!parse_length(line.substr(1), n) || n > 1024LL * 1024 * 1024) {
      return fail("Protocol error: invalid multibulk length");
    }
    if (n > 0 && static_cast<unsigned long long>(n) > limits_.max_args) {
      return fail("Protocol error: too many arguments (" + std::to_string(n) +
                  ", limit: max_args " + std::to_string(limits_.max_args) + ")");
    }
    if (n <= 0) {  // "*0" and "*-1" are empty requests: skipped
      finish_request();
      args.clear();
      return next(args);
    }
    expected_args_ = n;
    partial_count_ = 0;
  }
  while (static_cast<long long>(partial_count_) < expected_args_) {
    if (bulk_len_ < 0) {
      std::string_view line;
      if (!read_line(line)) {
        if (buffer_.size() - pos_ > 32) return fail("Protocol error: invalid bulk length");
        return Status::need_more;
      }
      if (line.empty() || line[0] != '$') {
        const std::string got = line.empty() ? std::string("\\r") : std::string(1, line[0]);
        return fail("Protocol error: expected '$', got '" + got + "'");
      }
      long long len = 0;
      if (!parse_length(line.substr(1), len) || len < 0) {
        return fail("Protocol error: invalid bulk length");
      }
      // The declared size counts against the limit before any of it is buffered.
      if (static_cast<unsigned long long>(len) + (pos_ - consumed_) > limits_.max_request_bytes) {
        return fail("Protocol error: request larger than max_request_bytes (limit: " +
                    std::to_string(limits_.max_request_bytes) + " bytes)");
      }
      bulk_len_ = len;
    }
    const auto need = static_cast<std::size_t>(bulk_len_) + 2;
    if (buffer_.size() - pos_ < need) return Status::need_more;
    if (buffer_[pos_ + need - 2] != '\r' || buffer_[pos_ + need - 1] != '\n') {
      return fail("Protocol error: bulk string not terminated by CRLF");
    }
    if (partial_count_ < partial_.size()) {
      partial_[partial_count_].assign(buffer_, pos_, static_cast<std::size_t>(bulk_len_));
    } else {
      partial_.emplace_back(buffer_, pos_, static_cast<std::size_t>(bulk_len_));
    }
    ++partial_count_;
    pos_ += need;
    bulk_len_ = -1;
    if (pos_ - consumed_ > limits_.max_request_bytes) {
      return fail("Protocol error: request larger than max_request_bytes (limit: " +
                  std::to_string(limits_.max_request_bytes) + " bytes)");
    }
  }
  partial_.resize(partial_count_);
  args.swap(partial_);  // the caller's previous strings come back for reuse
  partial_count_ = 0;
  wire_start_ = consumed_;
  wire_size_ = pos_ - consumed_;
  finish_request();
  return Status::request;
}

bool split_inline(std::string_view line, std::vector<std::string>& args) {
  std::size_t i = 0;
  const auto n = line.size();
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (;;) {
    while (i < n && is_space(line[i])) ++i;
    if (i >= n) return true;
    std::string current;
    bool in_double = false;
    bool in_single = false;
    for (;;) {
      if (in_double) {
        if (i >= n) return false;
        const char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
            hex_value(line[i + 3]) >= 0) {
          current.push_back(
              static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
          i += 3;
        } else if (c == '\\' && i + 1 < n) {
          ++i;
          switch (line[i]) {
            case 'n':
              current.push_back('\n');
              break;
            case 'r':
              current.push_back('\r');
              break;
            case 't':
              current.push_back('\t');
              break;
            case 'b':
              current.push_back('\b');
              break;
            case 'a':
              current.push_back('\a');
              break;
            default:
              current.push_back(line[i]);
              break;
          }
        } else if (c == '"') {
          // A closing quote must be followed by a space or the end, as in sdssplitargs.
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          in_double = false;
          ++i;
          break;
        } else {
          current.push_back(c);
        }
        ++i;
      } else if (in_single) {
        if (i >= n) return false;
        const char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          current.push_back('\'');
          ++i;
        } else if (c == '\'') {
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          in_single = false;
          ++i;
          break;
        } else {
          current.push_back(c);
        }
        ++i;
      } else {
        if (i >= n || is_space(line[i])) break;
        if (line[i] == '"') {
          in_double = true;
        } else if (line[i] == '\'') {
          in_single = true;
        } else {
          current.push_back(line[i]);
        }
        ++i;
      }
    }
    args.push_back(std::move(current));
  }
}

}  // namespace connpool::proxy
