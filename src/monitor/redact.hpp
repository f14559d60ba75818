// Defensive redaction of secrets in text the admin API shows (targets, error messages).
#pragma once

#include <string>
#include <string_view>

namespace connpool::monitor::detail {

/// Replaces the password of every `scheme://user:password@` with `***` (also `://:password@`),
/// and the value of query parameters that name secrets (password, pass, token, access_token,
/// secret, auth, key). Text without secrets comes back unchanged.
std::string redact_secrets(std::string_view text);

}  // namespace connpool::monitor::detail
