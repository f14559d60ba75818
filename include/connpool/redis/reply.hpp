// Reply: one RESP2 reply (nil, integer, string, status, error, array). Binary-safe: strings
// are byte strings and may contain NULs. A value type: copy and move freely, no thread affinity.
#pragma once

#include "connpool/core/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::redis {

class Reply {
 public:
  enum class Type : std::uint8_t { nil, integer, string, status, error, array };

  Reply() = default;  ///< nil
  static Reply nil() { return {}; }
  static Reply integer(long long v) {
    Reply r(Type::integer);
    r.integer_ = v;
    return r;
  }
  static Reply string(std::string s) { return Reply(Type::string, std::move(s)); }
  static Reply status(std::string s) { return Reply(Type::status, std::move(s)); }
  static Reply error(std::string s) { return Reply(Type::error, std::move(s)); }
  static Reply array(std::vector<Reply> elements) {
    Reply r(Type::array);
    r.elements_ = std::move(elements);
    return r;
  }

  [[nodiscard]] Type type() const noexcept { return type_; }
  [[nodiscard]] bool is_nil() const noexcept { return type_ == Type::nil; }
  [[nodiscard]] bool is_integer() const noexcept { return type_ == Type::integer; }
  [[nodiscard]] bool is_string() const noexcept { return type_ == Type::string; }
  [[nodiscard]] bool is_status() const noexcept { return type_ == Type::status; }
  [[nodiscard]] bool is_error() const noexcept { return type_ == Type::error; }
  [[nodiscard]] bool is_array() const noexcept { return type_ == Type::array; }

  /// The integer of an integer reply; 0 otherwise.
  [[nodiscard]] long long as_integer() const noexcept { return integer_; }
  /// The bytes of a string, status or error reply; empty otherwise.
  [[nodiscard]] const std::string& str() const noexcept { return str_; }
  /// Moves the bytes out (string, status or error replies).
  [[nodiscard]] std::string take_str() noexcept { return std::move(str_); }
  /// The elements of an array reply; empty otherwise.
  [[nodiscard]] const std::vector<Reply>& elements() const noexcept { return elements_; }
  [[nodiscard]] std::vector<Reply>& elements() noexcept { return elements_; }

  /// For display and tests: `"PONG"`, `(integer) 3`, `(nil)`, `(error) ERR ...`, `[a, b]`.
  /// Bytes outside printable ASCII are shown as \xNN.
  [[nodiscard]] std::string to_display() const;

  friend bool operator==(const Reply&, const Reply&) = default;

 private:
  explicit Reply(Type t) : type_(t) {}
  Reply(Type t, std::string s) : type_(t), str_(std::move(s)) {}

  Type type_ = Type::nil;
  long long integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

std::string_view to_string(Reply::Type t) noexcept;

/// An error reply turned into connpool::Error (errc::server_error, or auth_failed for
/// WRONGPASS/NOAUTH); any other reply passes through.
Result<Reply> error_reply_to_result(Reply reply);

}  // namespace connpool::redis
