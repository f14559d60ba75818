// Redaction of URL passwords and tokens. Deliberately conservative: when in doubt, hide.
#include "connpool/config/redact.hpp"

#include <array>

namespace connpool::config {

namespace {

// Query parameters whose values are secrets: some Redis clients accept ?password=, and a
// redis-sentinel:// URL carries the Sentinels' own password as ?sentinel_password=. Any name
// ending in one of these (sentinel_password, auth_token, ...) counts too.
bool secret_param(std::string_view name) {
  static constexpr std::array<std::string_view, 5> kNames = {"password", "pass", "pwd", "token",
                                                             "auth"};
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (std::string_view n : kNames) {
    if (lower == n) return true;
    if (lower.size() > n.size() && lower.ends_with(n) &&
        (n == "password" || n == "token" || lower[lower.size() - n.size() - 1] == '_')) {
      return true;
    }
  }
  return false;
}

std::string redact_query(std::string_view query) {
  std::string out;
  while (true) {
    const auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && secret_param(part.substr(0, eq))) {
      out.append(part.substr(0, eq + 1)).append(kRedacted);
    } else {
      out.append(part);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out;
  std::string_view rest = url;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    out.append(rest.substr(0, scheme_end + 3));
    rest.remove_prefix(scheme_end + 3);
  }
  // The userinfo is what precedes the last '@' before the query, as the Redis URL parsers read
  // it: a password may hold a raw '@', '/', ':', '#' or '?' when the user forgot to
  // percent-encode it. An '@' between the first '?' and the next '=' means that '?' belonged to
  // the password (option names never hold '@').
  std::size_t at = std::string_view::npos;
  const auto first_q = rest.find('?');
  if (first_q != std::string_view::npos) {
    const auto scoped_at = rest.substr(0, rest.find('=', first_q)).rfind('@');
    if (scoped_at != std::string_view::npos && scoped_at > first_q) at = scoped_at;
  }
  if (at == std::string_view::npos) at = rest.substr(0, first_q).rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    // The user name is kept only when it is plainly one (no byte that could start a password
    // the parser would split differently); otherwise the whole userinfo is hidden.
    if (colon != std::string_view::npos &&
        userinfo.substr(0, colon).find_first_of("/?#") == std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1)).append(kRedacted);
    } else {
      // redis://secret@host: several Redis clients read a lone userinfo as the password.
      out.append(kRedacted);
    }
    rest.remove_prefix(at);
  }
  const auto authority_end = rest.find_first_of("/?#");
  out.append(rest.substr(0, authority_end));
  if (authority_end == std::string_view::npos) return out;
  rest.remove_prefix(authority_end);
  const auto q = rest.find('?');
  if (q == std::string_view::npos) {
    out.append(rest);
    return out;
  }
  out.append(rest.substr(0, q + 1));
  rest.remove_prefix(q + 1);
  const auto hash = rest.find('#');
  out.append(redact_query(rest.substr(0, hash)));
  if (hash != std::string_view::npos) out.append(rest.substr(hash));
  return out;
}

std::string redact_secret(std::string_view secret) {
  return secret.empty() ? std::string() : std::string(kRedacted);
}

}  // namespace connpool::config
