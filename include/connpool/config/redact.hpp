// Redaction of secrets before anything is printed, logged or put in an error message.
#pragma once

#include <string>
#include <string_view>

namespace connpool::config {

/// The text that replaces a secret.
inline constexpr std::string_view kRedacted = "***";

/// A URL with its password (and any password/token/auth query parameter, also with a prefix such
/// as sentinel_password) replaced by ***. Works for every Redis URL form, including
/// redis-cluster://u:pw@h1:7000,h2:7001 and redis-sentinel://...?sentinel_password=pw:
///   redis://user:s3cret@host:6379/0  -> redis://user:***@host:6379/0
///   redis://s3cret@host              -> redis://***@host   (a lone userinfo may be a password)
///   rediss://h:6380/0?password=x     -> rediss://h:6380/0?password=***
/// Text that is not a URL comes back unchanged, except that anything before an '@' is hidden.
std::string redact_url(std::string_view url);

/// "***" for a non-empty secret, "" (unset) for an empty one.
std::string redact_secret(std::string_view secret);

}  // namespace connpool::config
