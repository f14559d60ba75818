#include "connpool/firestore/value.hpp"

#include <bit>
#include <chrono>
#include <cstdio>

namespace connpool::firestore {
namespace {

// Howard Hinnant's civil-date algorithms: exact for the whole proleptic Gregorian calendar, no
// dependence on the C library's time zone handling.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool parse_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) noexcept {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  out = v;
  return true;
}

bool is_leap(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::string Timestamp::to_rfc3339() const {
  const std::int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  const std::int64_t secs_of_day = seconds - days * 86400;
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, y, m, d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(secs_of_day / 3600),
                        static_cast<long long>(secs_of_day / 60 % 60),
                        static_cast<long long>(secs_of_day % 60));
  std::string out(buf, static_cast<std::size_t>(n));
  if (nanos != 0) {
    // Shortest of 3, 6 or 9 digits that is exact, as protobuf's JSON mapping does.
    if (nanos % 1000000 == 0) {
      n = std::snprintf(buf, sizeof buf, ".%03d", nanos / 1000000);
    } else if (nanos % 1000 == 0) {
      n = std::snprintf(buf, sizeof buf, ".%06d", nanos / 1000);
    } else {
      n = std::snprintf(buf, sizeof buf, ".%09d", nanos);
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  out += 'Z';
  return out;
}

Result<Timestamp> Timestamp::from_rfc3339(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return fail(errc::invalid_argument,
                "invalid timestamp \"" + std::string(s) + "\": " + std::string(why) +
                    " (expected RFC 3339 like 2024-05-01T12:34:56.123456789Z)");
  };
  unsigned year = 0, mon = 0, day = 0, hh = 0, mm = 0, ss = 0;
  if (s.size() < 20 || !parse_digits(s, 0, 4, year) || s[4] != '-' || !parse_digits(s, 5, 2, mon) ||
      s[7] != '-' || !parse_digits(s, 8, 2, day) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !parse_digits(s, 11, 2, hh) ||
      s[13] != ':' || !parse_digits(s, 14, 2, mm) || s[16] != ':' || !parse_digits(s, 17, 2, ss)) {
    return bad("malformed date or time");
  }
  if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon)) return bad("no such date");
  if (hh > 23 || mm > 59 || ss > 59) return bad("time of day out of range");
  std::size_t pos = 19;
  std::int32_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++digits > 9) return bad("more than 9 fractional digits");
      nanos = nanos * 10 + (s[pos] - '0');
      ++pos;
    }
    if (digits == 0) return bad("empty fraction");
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    unsigned oh = 0, om = 0;
    if (!parse_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !parse_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad("malformed UTC offset");
    }
    offset = (s[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
    pos += 6;
  } else {
    return bad("missing 'Z' or UTC offset");
  }
  if (pos != s.size()) return bad("trailing characters");
  Timestamp t;
  t.seconds = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss - offset;
  t.nanos = nanos;
  return t;
}

Timestamp Timestamp::now() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  Timestamp t;
  t.seconds = ns / 1000000000;
  t.nanos = static_cast<std::int32_t>(ns % 1000000000);
  if (t.nanos < 0) {
    t.nanos += 1000000000;
    t.seconds -= 1;
  }
  return t;
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.v_.index() != b.v_.index()) return false;
  if (const auto* da = std::get_if<double>(&a.v_)) {
    // Bit identity: NaN == NaN and -0.0 != 0.0, which is what "round-trips exactly" means.
    return std::bit_cast<std::uint64_t>(*da) ==
           std::bit_cast<std::uint64_t>(std::get<double>(b.v_));
  }
  if (const auto* ga = std::get_if<GeoPoint>(&a.v_)) {
    const auto& gb = std::get<GeoPoint>(b.v_);
    return std::bit_cast<std::uint64_t>(ga->latitude) ==
               std::bit_cast<std::uint64_t>(gb.latitude) &&
           std::bit_cast<std::uint64_t>(ga->longitude) ==
               std::bit_cast<std::uint64_t>(gb.longitude);
  }
  return a.v_ == b.v_;
}

std::string_view to_string(Value::Type t) noexcept {
  switch (t) {
    case Value::Type::null:
      return "null";
    case Value::Type::boolean:
      return "boolean";
    case Value::Type::integer:
      return "integer";
    case Value::Type::floating:
      return "double";
    case Value::Type::timestamp:
      return "timestamp";
    case Value::Type::string:
      return "string";
    case Value::Type::bytes:
      return "bytes";
    case Value::Type::reference:
      return "reference";
    case Value::Type::geo_point:
      return "geo point";
    case Value::Type::array:
      return "array";
    case Value::Type::map:
      return "map";
  }
  return "unknown";
}

std::string Document::path() const {
  static constexpr std::string_view kMarker = "/documents/";
  const auto pos = name.find(kMarker);
  return pos == std::string::npos ? name : name.substr(pos + kMarker.size());
}

const Value* Document::get(std::string_view field) const {
  auto it = fields.find(field);
  return it == fields.end() ? nullptr : &it->second;
}

}  // namespace connpool::firestore
