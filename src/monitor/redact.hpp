// Defensive redaction of secrets in text the admin API shows (targets, error messages).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace connpool::monitor::detail {

/// Replaces the password of every `scheme://user:password@` with `***` (also `://:password@`),
/// and the value of every `name=value` pair whose name is a secret: one containing "password",
/// "token" or "secret" (sentinel_password, access_token, client_secret, ...), or exactly pass,
/// auth or key. Pairs count after '?', '&', ';', ',', '(', '[', '{', a quote or whitespace, or at
/// the start of the text; a value is masked up to '&', '#' or whitespace.
/// Text without secrets comes back unchanged. Linear in the size of `text`.
std::string redact_secrets(std::string_view text);

/// Largest error text the admin API shows (bytes, before JSON escaping).
inline constexpr std::size_t kMaxShownErrorBytes = 1024;

/// An error message as the admin API shows it: redacted, and cut to at most `limit` bytes plus a
/// " ... (truncated; N bytes in all)" note. Only a bounded prefix of `text` is read, so a huge
/// message (a server's error reply) costs the same as a short one on every request. A word cut by
/// the limit is dropped whole: it could be a URL whose password the redaction could not see end.
std::string shown_error_text(std::string_view text, std::size_t limit = kMaxShownErrorBytes);

}  // namespace connpool::monitor::detail
