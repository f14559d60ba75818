#include "url_text.hpp"

namespace connpool::redis::detail {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<UrlParts> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts p;
  p.scheme = url.substr(0, scheme_end);
  p.rest = url.substr(scheme_end + 3);
  if (const auto q = p.rest.find('?'); q != std::string_view::npos) {
    p.query = p.rest.substr(q + 1);
    p.rest = p.rest.substr(0, q);
  }
  p.has_fragment = p.rest.find('#') != std::string_view::npos;
  const auto slash = p.rest.find('/');
  p.authority = p.rest.substr(0, slash);
  if (slash != std::string_view::npos) p.path = p.rest.substr(slash);
  if (const auto at = p.authority.rfind('@'); at != std::string_view::npos) {
    p.userinfo = p.authority.substr(0, at);
    p.has_userinfo = true;
    p.authority = p.authority.substr(at + 1);
  }
  return p;
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
