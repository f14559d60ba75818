#include "values.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "connpool/config/redact.hpp"

namespace connpool::config::detail {

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

Parsed<std::size_t> parse_size(std::string_view text) {
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // from_chars rejects a sign, so "-3" and "+3" land here too.
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Broken{"must be a whole number >= 0, got " + quote(text)};
  }
  return value;
}

Parsed<core::milliseconds> parse_duration_value(std::string_view text) {
  auto r = core::parse_duration(text);
  if (!r) return Broken{r.error().message()};
  return *r;
}

Parsed<double> parse_ratio(std::string_view text) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
      !std::isfinite(value)) {
    return Broken{"must be a number, got " + quote(text)};
  }
  return value;
}

Parsed<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return Broken{"must be true or false, got " + quote(text)};
}

Parsed<core::IdleOrder> parse_idle_order(std::string_view text) {
  if (text == "lifo") return core::IdleOrder::lifo;
  if (text == "fifo") return core::IdleOrder::fifo;
  return Broken{"must be lifo or fifo, got " + quote(text)};
}

Parsed<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value > 65535) {
    return Broken{"must be a port number in [0, 65535], got " + quote(text)};
  }
  return static_cast<std::uint16_t>(value);
}

Parsed<std::string> parse_redis_url(std::string_view text) {
  std::string_view rest;
  if (text.starts_with("redis://")) {
    rest = text.substr(8);
  } else if (text.starts_with("rediss://")) {
    rest = text.substr(9);
  } else {
    return Broken{"must start with redis:// or rediss://, got " + quote(redact_url(text))};
  }
  const auto at = rest.substr(0, rest.find_first_of("/?#")).rfind('@');
  std::string_view host = rest.substr(at == std::string_view::npos ? 0 : at + 1);
  host = host.substr(0, host.find_first_of(":/?#"));
  if (host.empty()) return Broken{"must name a host, got " + quote(redact_url(text))};
  return std::string(text);
}

Parsed<std::string> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Broken{"must be host:port, got " + quote(text)};
  }
  if (!parse_port(text.substr(colon + 1)).value) {
    return Broken{"must be host:port with a port in [0, 65535], got " + quote(text)};
  }
  return std::string(text);
}

Parsed<std::string> parse_nonempty(std::string_view text) {
  if (text.empty()) return Broken{"must not be empty"};
  return std::string(text);
}

}  // namespace connpool::config::detail
