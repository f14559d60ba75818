#include "url_text.hpp"

#include "connpool/core/detail/hex.hpp"
#include "connpool/core/pool_config.hpp"

#include <charconv>

namespace connpool::redis::detail {

namespace {

using core::detail::hex_value;

}  // namespace

std::optional<UrlParts> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts p;
  p.scheme = url.substr(0, scheme_end);
  const std::string_view after = url.substr(scheme_end + 3);
  // Where the userinfo ends: an '@' between the first '?' and the next '=' means that '?' was
  // part of a password (option names never hold '@'); otherwise the last '@' before the '?'.
  std::size_t at = std::string_view::npos;
  const auto first_q = after.find('?');
  if (first_q != std::string_view::npos) {
    const auto eq = after.find('=', first_q);
    const auto scoped_at = after.substr(0, eq).rfind('@');
    if (scoped_at != std::string_view::npos && scoped_at > first_q) at = scoped_at;
  }
  if (at == std::string_view::npos) at = after.substr(0, first_q).rfind('@');
  std::string_view tail = after;
  if (at != std::string_view::npos) {
    p.userinfo = after.substr(0, at);
    p.has_userinfo = true;
    tail = after.substr(at + 1);
    if (p.userinfo.find('?') != std::string_view::npos) {
      p.userinfo_problem = "the user name or password holds a raw '?': percent-encode it as %3F";
    } else if (p.userinfo.find('#') != std::string_view::npos) {
      p.userinfo_problem = "the user name or password holds a raw '#': percent-encode it as %23";
    }
  }
  const auto q = tail.find('?');
  if (q != std::string_view::npos) p.query = tail.substr(q + 1);
  const std::string_view target = tail.substr(0, q);
  p.rest = after.substr(0, static_cast<std::size_t>(target.data() + target.size() - after.data()));
  p.has_fragment = target.find('#') != std::string_view::npos;
  const auto slash = target.find('/');
  p.authority = target.substr(0, slash);
  if (slash != std::string_view::npos) p.path = target.substr(slash);
  return p;
}

Result<std::chrono::milliseconds> parse_bounded_duration(std::string_view text) {
  auto d = core::parse_duration(text);
  if (!d) return d;
  if (*d > kMaxOptionDuration) {
    return Error(errc::invalid_config, "duration '" + std::string(text) +
                                           "' is longer than the 1 year (8760h) any option "
                                           "accepts");
  }
  return d;
}

Result<std::size_t> parse_byte_size(std::string_view text) {
  constexpr std::size_t kMax = std::size_t{4} * 1024 * 1024 * 1024;
  auto bad = [&](const char* rule) {
    return Error(errc::invalid_config, "size '" + std::string(text) + "' " + rule);
  };
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr == text.data()) {
    return bad("must be a whole number of bytes, optionally with KiB, MiB or GiB");
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  std::size_t factor = 0;
  if (unit.empty() || unit == "B" || unit == "b") {
    factor = 1;
  } else if (unit == "KiB" || unit == "KB" || unit == "kb" || unit == "k") {
    factor = 1024;
  } else if (unit == "MiB" || unit == "MB" || unit == "mb" || unit == "m") {
    factor = 1024 * 1024;
  } else if (unit == "GiB" || unit == "GB" || unit == "gb" || unit == "g") {
    factor = 1024 * 1024 * 1024;
  } else {
    return bad("has an unknown unit (use B, KiB, MiB or GiB)");
  }
  if (value == 0) return bad("must be at least 1 byte");
  if (value > kMax / factor) return bad("is above the 4 GiB maximum");
  return value * factor;
}

std::vector<QueryPair> split_query(std::string_view query) {
  std::vector<QueryPair> pairs;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    QueryPair p;
    p.text = item;
    p.name = item.substr(0, eq);
    p.has_value = eq != std::string_view::npos;
    if (p.has_value) p.value = item.substr(eq + 1);
    pairs.push_back(p);
  }
  return pairs;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace connpool::redis::detail
