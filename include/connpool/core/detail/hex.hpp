#pragma once

// One hexadecimal digit's value, for the decoders of untrusted text (percent-encoding in URLs
// and admin paths, `\xHH` in inline Redis commands): -1 for anything that is not a hex digit,
// so callers reject the input instead of guessing.

namespace connpool::core::detail {

[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace connpool::core::detail
