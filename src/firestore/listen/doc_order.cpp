#include "doc_order.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace connpool::firestore::detail {
namespace {

// Firestore's type order; integers and doubles are one "number" type.
int type_rank(const Value& v) {
  switch (v.type()) {
    case Value::Type::null:
      return 0;
    case Value::Type::boolean:
      return 1;
    case Value::Type::integer:
    case Value::Type::floating:
      return 2;
    case Value::Type::timestamp:
      return 3;
    case Value::Type::string:
      return 4;
    case Value::Type::bytes:
      return 5;
    case Value::Type::reference:
      return 6;
    case Value::Type::geo_point:
      return 7;
    case Value::Type::array:
      return 8;
    case Value::Type::map:
      return 9;
  }
  return 10;
}

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// NaN sorts before every other number, as in Firestore.
int compare_doubles(double a, double b) {
  if (std::isnan(a)) return std::isnan(b) ? 0 : -1;
  if (std::isnan(b)) return 1;
  return three_way(a, b);
}

// Exact integer/double comparison without losing int64 precision.
int compare_int_double(std::int64_t i, double d) {
  if (std::isnan(d)) return 1;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  const double t = std::trunc(d);
  const auto di = static_cast<std::int64_t>(t);
  if (i != di) return three_way(i, di);
  return three_way(0.0, d - t);
}

int compare_numbers(const Value& a, const Value& b) {
  const auto* ai = a.get_if<std::int64_t>();
  const auto* bi = b.get_if<std::int64_t>();
  if (ai && bi) return three_way(*ai, *bi);
  if (ai) return compare_int_double(*ai, b.as<double>());
  if (bi) return -compare_int_double(*bi, a.as<double>());
  return compare_doubles(a.as<double>(), b.as<double>());
}

// Strings compare by UTF-8 bytes, which is code point order.
int compare_bytes(std::string_view a, std::string_view b) {
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

int compare_names(std::string_view a, std::string_view b) {
  for (;;) {
    const auto ea = a.find('/');
    const auto eb = b.find('/');
    const int c = compare_bytes(a.substr(0, ea), b.substr(0, eb));
    if (c != 0) return c;
    if (ea == std::string_view::npos || eb == std::string_view::npos) {
      return three_way(ea == std::string_view::npos ? 0 : 1, eb == std::string_view::npos ? 0 : 1);
    }
    a.remove_prefix(ea + 1);
    b.remove_prefix(eb + 1);
  }
}

int compare_values(const Value& a, const Value& b) {
  const int ra = type_rank(a);
  const int rb = type_rank(b);
  if (ra != rb) return three_way(ra, rb);
  switch (a.type()) {
    case Value::Type::null:
      return 0;
    case Value::Type::boolean:
      return three_way(a.as<bool>(), b.as<bool>());
    case Value::Type::integer:
    case Value::Type::floating:
      return compare_numbers(a, b);
    case Value::Type::timestamp: {
      const auto& x = a.as<Timestamp>();
      const auto& y = b.as<Timestamp>();
      if (x.seconds != y.seconds) return three_way(x.seconds, y.seconds);
      return three_way(x.nanos, y.nanos);
    }
    case Value::Type::string:
      return compare_bytes(a.as<std::string>(), b.as<std::string>());
    case Value::Type::bytes:
      return compare_bytes(a.as<Bytes>().data, b.as<Bytes>().data);
    case Value::Type::reference:
      return compare_names(a.as<Reference>().name, b.as<Reference>().name);
    case Value::Type::geo_point: {
      const auto& x = a.as<GeoPoint>();
      const auto& y = b.as<GeoPoint>();
      if (int c = compare_doubles(x.latitude, y.latitude)) return c;
      return compare_doubles(x.longitude, y.longitude);
    }
    case Value::Type::array: {
      const auto& x = a.as<Array>();
      const auto& y = b.as<Array>();
      for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (int c = compare_values(x[i], y[i])) return c;
      }
      return three_way(x.size(), y.size());
    }
    case Value::Type::map: {
      // Maps compare key by key in key order, then by size.
      const auto& x = a.as<Map>();
      const auto& y = b.as<Map>();
      auto ix = x.begin();
      auto iy = y.begin();
      for (; ix != x.end() && iy != y.end(); ++ix, ++iy) {
        if (int c = compare_bytes(ix->first, iy->first)) return c;
        if (int c = compare_values(ix->second, iy->second)) return c;
      }
      return three_way(x.size(), y.size());
    }
  }
  return 0;
}

const Value* field_at(const Map& fields, std::string_view path) {
  const Map* m = &fields;
  for (;;) {
    const auto dot = path.find('.');
    const auto it = m->find(std::string(path.substr(0, dot)));
    if (it == m->end()) return nullptr;
    if (dot == std::string_view::npos) return &it->second;
    m = it->second.get_if<Map>();
    if (!m) return nullptr;
    path.remove_prefix(dot + 1);
  }
}

int DocumentOrder::compare(const Document& a, const Document& b) const {
  for (const auto& o : orders_) {
    int c = 0;
    if (o.field == "__name__") {
      c = compare_names(a.name, b.name);
    } else {
      // A document without the field is not in an ordered query's results; treat it as
      // lowest so a stray one still sorts deterministically.
      const Value* va = field_at(a.fields, o.field);
      const Value* vb = field_at(b.fields, o.field);
      if (va && vb) {
        c = compare_values(*va, *vb);
      } else {
        c = three_way(va != nullptr, vb != nullptr);
      }
    }
    if (c != 0) return o.direction == Direction::descending ? -c : c;
  }
  const int c = compare_names(a.name, b.name);
  const bool desc = !orders_.empty() && orders_.back().direction == Direction::descending;
  return desc ? -c : c;
}

}  // namespace connpool::firestore::detail
