#include "host_check.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <cctype>

namespace connpool::monitor::detail {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.ends_with('.')) a.remove_suffix(1);
  if (b.ends_with('.')) b.remove_suffix(1);
  return !a.empty() && a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool host_allowed(std::string_view host, std::span<const std::string> allowed_names) {
  if (host.empty()) return true;
  boost::system::error_code ec;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    const auto rest = host.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return false;
    // make_address_v6 accepts a zone ("fe80::1%eth0"); browsers never send one, harmless.
    boost::asio::ip::make_address_v6(std::string(host.substr(1, close - 1)), ec);
    return !ec;
  }
  auto name = host;
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    if (host.find(':') != colon) return false;  // an unbracketed IPv6 address is not a Host
    if (!all_digits(host.substr(colon + 1))) return false;
    name = host.substr(0, colon);
  }
  if (name.empty()) return false;
  // inet_pton's strict dotted quad: "0x7f.1" or "2130706433" (which a resolver might map to
  // an address) are names here, and so refused unless allowed.
  boost::asio::ip::make_address_v4(std::string(name), ec);
  if (!ec) return true;
  if (same_name(name, "localhost")) return true;
  return std::any_of(allowed_names.begin(), allowed_names.end(),
                     [&](const std::string& allowed) { return same_name(name, allowed); });
}

}  // namespace connpool::monitor::detail
