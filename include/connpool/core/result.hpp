// Result<T>: a value or a connpool::Error (an expected-style type; std::expected is C++23).
#pragma once

#include "connpool/core/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace connpool {

namespace detail {
[[noreturn]] inline void bad_result_access(const char* what) noexcept {
  // Reading the value of a failed Result is a programming error; with no exceptions in the API
  // the honest reaction is to stop loudly, like std::optional's operator* in debug builds.
  std::fprintf(stderr, "connpool: %s\n", what);
  std::abort();
}
}  // namespace detail

/// Holds either a T or an Error. Check with `if (r)` / `r.has_value()`, then use `*r`, `r->`,
/// `r.value()`; on failure `r.error()`. Accessing the wrong side aborts (a bug, not a runtime
/// condition).
template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  /// An empty result holds errc::unknown. It exists because Asio's co_spawn needs default-
  /// constructible results; code should always build a Result from a value or an Error.
  Result() : v_(std::in_place_index<1>, Error(errc::unknown, "empty result")) {}
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <class... Args>
  explicit Result(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return check(), *std::get_if<0>(&v_); }
  const T& value() const& { return check(), *std::get_if<0>(&v_); }
  T&& value() && { return check(), std::move(*std::get_if<0>(&v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? *std::get_if<0>(&v_) : static_cast<T>(std::forward<U>(fallback));
  }

  const Error& error() const& {
    if (has_value()) detail::bad_result_access("Result::error() called on a value");
    return *std::get_if<1>(&v_);
  }
  Error&& error() && {
    if (has_value()) detail::bad_result_access("Result::error() called on a value");
    return std::move(*std::get_if<1>(&v_));
  }

 private:
  void check() const {
    if (!has_value()) detail::bad_result_access(std::get_if<1>(&v_)->to_string().c_str());
  }
  std::variant<T, Error> v_;
};

/// Result<void>: success, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT: implicit by design

  [[nodiscard]] bool has_value() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (e_) detail::bad_result_access(e_->to_string().c_str());
  }
  const Error& error() const& {
    if (!e_) detail::bad_result_access("Result::error() called on a value");
    return *e_;
  }
  Error&& error() && {
    if (!e_) detail::bad_result_access("Result::error() called on a value");
    return std::move(*e_);
  }

 private:
  std::optional<Error> e_;
};

/// `return connpool::ok();` from a function returning Result<void>.
inline Result<void> ok() {
  return {};
}

/// Shorthand for building a failed result: `return fail(errc::invalid_argument, "...")`.
inline Error fail(errc code, std::string message) {
  return Error(code, std::move(message));
}

}  // namespace connpool
