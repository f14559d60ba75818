#include "reply_convert.hpp"

#include <charconv>
#include <cstdlib>

namespace connpool::redis::detail {

Error unexpected(std::string_view cmd, const Reply& r) {
  return Error(errc::protocol_error,
               "redis " + std::string(cmd) + ": unexpected reply " + r.to_display());
}

Result<std::optional<std::string>> to_opt_string(Reply r, std::string_view cmd) {
  if (r.is_nil()) return std::optional<std::string>{};
  if (r.is_string() || r.is_status()) return std::optional<std::string>(r.take_str());
  return unexpected(cmd, r);
}

Result<long long> to_integer(const Reply& r, std::string_view cmd) {
  if (r.is_integer()) return r.as_integer();
  return unexpected(cmd, r);
}

Result<std::vector<std::string>> to_strings(Reply r, std::string_view cmd) {
  if (!r.is_array()) return unexpected(cmd, r);
  std::vector<std::string> out;
  out.reserve(r.elements().size());
  for (auto& e : r.elements()) {
    if (!e.is_string() && !e.is_status()) return unexpected(cmd, e);
    out.push_back(e.take_str());
  }
  return out;
}

Result<double> to_double(const std::string& text, std::string_view cmd) {
  // Redis prints scores with %.17g (and "inf"/"-inf"); strtod reads all of them.
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) {
    return Error(errc::protocol_error, "redis " + std::string(cmd) + ": bad score '" + text + "'");
  }
  return v;
}

std::string format_double(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? ptr : buf);
}

std::vector<std::string_view> with_key(std::string_view cmd, std::string_view key,
                                       std::span<const std::string_view> items) {
  std::vector<std::string_view> args;
  args.reserve(items.size() + 2);
  args.push_back(cmd);
  args.push_back(key);
  args.insert(args.end(), items.begin(), items.end());
  return args;
}

}  // namespace connpool::redis::detail
