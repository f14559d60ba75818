// RESP2 framing on top of hiredis 0.14: its reader parses replies straight into connpool's Reply
// (custom object functions, so no redisReply tree is built and copied), and its formatter
// produces the request bytes. Internal to the Redis backend; keeps hiredis out of public headers.
#pragma once

#include "connpool/redis/reply.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

struct redisReader;

namespace connpool::redis::detail {

/// Incremental reply parser. Not thread-safe: owned by one connection's reader.
class RespReader {
 public:
  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  /// Appends received bytes.
  Result<void> feed(const char* data, std::size_t size);
  /// The next complete reply, nothing when more bytes are needed, or errc::protocol_error.
  /// After a protocol error the reader is unusable (and so is the connection).
  Result<std::optional<Reply>> next();

 private:
  redisReader* reader_;
};

/// One command in RESP wire form, allocated by hiredis's formatter.
class FormattedCommand {
 public:
  FormattedCommand() = default;
  /// Formats `args` (binary-safe) with redisFormatCommandArgv.
  static FormattedCommand format(std::span<const std::string_view> args);

  [[nodiscard]] const char* data() const noexcept { return data_.get(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

 private:
  struct Free {
    void operator()(char* p) const noexcept;
  };
  std::unique_ptr<char, Free> data_;
  std::size_t size_ = 0;
};

}  // namespace connpool::redis::detail
