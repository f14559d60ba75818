#include "redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace connpool::monitor::detail {
namespace {

constexpr std::string_view kMask = "***";

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool secret_param(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "password", "pass", "token", "access_token", "secret", "auth", "key"};
  return std::any_of(kNames.begin(), kNames.end(), [&](auto n) { return ieq(n, name); });
}

// Characters that end a URL's authority (or the URL itself inside a longer message).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '"' ||
         c == '\'' || c == ',' || c == ';' || c == ')' || c == '>';
}

// Masks `user:password@` right after every "://".
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

// Masks the values of secret-looking `name=value` pairs after '?' or '&'.
std::string redact_params(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    out.push_back(c);
    ++i;
    if (c != '?' && c != '&') continue;
    const auto eq = in.find('=', i);
    if (eq == std::string::npos) continue;
    const std::string_view name(in.data() + i, eq - i);
    if (name.find_first_of("&? /") != std::string_view::npos || !secret_param(name)) continue;
    out.append(name);
    out.push_back('=');
    out.append(kMask);
    i = eq + 1;
    while (i < in.size() && in[i] != '&' && in[i] != '#' && in[i] != ' ') ++i;
  }
  return out;
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  return redact_params(redact_userinfo(text));
}

}  // namespace connpool::monitor::detail
