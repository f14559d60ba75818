#include "redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace connpool::monitor::detail {
namespace {

constexpr std::string_view kMask = "***";

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == y; });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char x, char y) { return lower(x) == y; }) != haystack.end();
}

// `needle`s are lower case. Substrings catch sentinel_password, auth_token, client_secret, ...
bool secret_param(std::string_view name) {
  static constexpr std::array<std::string_view, 3> kExact = {"pass", "auth", "key"};
  static constexpr std::array<std::string_view, 3> kParts = {"password", "token", "secret"};
  return std::any_of(kExact.begin(), kExact.end(), [&](auto n) { return ieq(name, n); }) ||
         std::any_of(kParts.begin(), kParts.end(), [&](auto n) { return icontains(name, n); });
}

// Characters that end a URL's authority (or the URL itself inside a longer message).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '"' ||
         c == '\'' || c == ',' || c == ';' || c == ')' || c == '>';
}

// Masks `user:password@` right after every "://". Each byte is looked at a bounded number of
// times: the search resumes where the previous authority ended.
std::string redact_userinfo(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t pos = 0;
  while (true) {
    const auto scheme_end = in.find("://", pos);
    if (scheme_end == std::string_view::npos) break;
    const auto auth_begin = scheme_end + 3;
    auto auth_end = auth_begin;
    while (auth_end < in.size() && !ends_authority(in[auth_end])) ++auth_end;
    const auto authority = in.substr(auth_begin, auth_end - auth_begin);
    const auto at = authority.rfind('@');
    out.append(in.substr(pos, auth_begin - pos));
    if (at != std::string_view::npos) {
      const auto userinfo = authority.substr(0, at);
      const auto colon = userinfo.find(':');
      if (colon != std::string_view::npos) {
        out.append(userinfo.substr(0, colon + 1));
        out.append(kMask);
      } else {
        out.append(userinfo);
      }
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
    pos = auth_end;
  }
  out.append(in.substr(pos));
  return out;
}

// Where a `name=value` pair may start.
bool starts_pair_after(char c) {
  return c == '?' || c == '&' || c == ';' || c == ',' || c == ' ' || c == '\t' || c == '\n' ||
         c == '(' || c == '[' || c == '{' || c == '"' || c == '\'';
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

// Masks the values of secret-named `name=value` pairs. One pass: a name is scanned once, and
// the scan that ends a name (at '=' or at any other character) resumes right there, so '&'-heavy
// text stays linear (the former version searched for '=' from every '&': quadratic).
std::string redact_params(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  bool at_boundary = true;  // the start of the text counts as a boundary
  while (i < in.size()) {
    if (!at_boundary) {
      at_boundary = starts_pair_after(in[i]);
      out.push_back(in[i++]);
      continue;
    }
    std::size_t end = i;
    while (end < in.size() && name_char(in[end])) ++end;
    const auto name = in.substr(i, end - i);
    out.append(name);
    i = end;
    at_boundary = false;
    if (i >= in.size() || in[i] != '=' || name.empty() || !secret_param(name)) continue;
    out.push_back('=');
    out.append(kMask);
    ++i;
    // The value ends only where a password cannot go on (',' ';' ')' may be part of one).
    while (i < in.size() && in[i] != '&' && in[i] != '#' && in[i] != ' ' && in[i] != '\t' &&
           in[i] != '\n') {
      ++i;
    }
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  return redact_params(redact_userinfo(text));
}

std::string shown_error_text(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return redact_secrets(text);
  // Redact a window a few times the limit, so URLs that start before the cut are seen whole
  // unless they are longer than the window; those lie across the cut and are dropped below.
  const std::size_t window = std::min(text.size(), limit * 4);
  const std::string redacted = redact_secrets(text.substr(0, window));
  // Cut by position in the original text: redaction only shortens, so the first `limit`
  // original bytes map into the first `limit` redacted ones or fewer. Cutting the redacted text
  // at `limit` is therefore conservative.
  std::size_t cut = std::min(limit, redacted.size());
  // Drop the word the cut went through (unless the cut is exactly at a space).
  if (cut < redacted.size() && !is_space(redacted[cut])) {
    while (cut > 0 && !is_space(redacted[cut - 1])) --cut;
  }
  while (cut > 0 && is_space(redacted[cut - 1])) --cut;
  std::string out = redacted.substr(0, cut);
  out += " ... (truncated; " + std::to_string(text.size()) + " bytes in all)";
  return out;
}

}  // namespace connpool::monitor::detail
