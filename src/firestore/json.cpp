#include "connpool/firestore/json.hpp"

#include "connpool/firestore/path.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace connpool::firestore {
namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& why) {
  return Error(errc::invalid_argument, "invalid Firestore JSON at " +
                                           (where.empty() ? std::string("/") : where) + ": " + why);
}

std::string escape_pointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

json double_to_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return d;  // nlohmann prints the shortest text that reads back to the same bits, -0.0 included
}

Result<double> double_from_json(const json& j, const std::string& where) {
  if (j.is_number_float()) return j.get<double>();
  if (j.is_number_integer()) return static_cast<double>(j.get<std::int64_t>());
  if (j.is_number_unsigned()) return static_cast<double>(j.get<std::uint64_t>());
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  return bad(where, "expected a number or \"NaN\", \"Infinity\", \"-Infinity\"");
}

Result<std::int64_t> int_from_json(const json& j, const std::string& where) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return bad(where, "integer " + std::to_string(u) + " does not fit in int64");
    }
    return static_cast<std::int64_t>(u);
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    std::int64_t v = 0;
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (ec == std::errc() && p == end && !s.empty()) return v;
    return bad(where, "\"" + s + "\" is not an int64 integer");
  }
  return bad(where, "expected an integer as a decimal string");
}

Result<Value> lenient_value(const json& j, const std::string& where, std::size_t depth);

// `depth` counts the maps and arrays around `j`; one more than Firestore allows is refused
// before recursing, so the walk's stack is bounded whatever the input.
Error too_deep(const std::string& where) {
  return bad(where, "maps and arrays nest deeper than " + std::to_string(kMaxValueDepth) +
                        " levels (Firestore's limit)");
}

Result<Value> tagged_value(const json& j, const std::string& where, JsonMode mode,
                           std::size_t depth) {
  if (!j.is_object() || j.size() != 1) {
    return bad(where, "expected an object with exactly one key such as \"stringValue\"");
  }
  const auto first = j.begin();
  const std::string& key = first.key();
  const json& v = first.value();
  const std::string at = where + "/" + escape_pointer(key);
  if (key == "nullValue") {
    if (!v.is_null() && v != "NULL_VALUE") return bad(at, "expected null");
    return Value(Null{});
  }
  if (key == "booleanValue") {
    if (!v.is_boolean()) return bad(at, "expected true or false");
    return Value(v.get<bool>());
  }
  if (key == "integerValue") {
    auto i = int_from_json(v, at);
    if (!i) return std::move(i).error();
    return Value(*i);
  }
  if (key == "doubleValue") {
    auto d = double_from_json(v, at);
    if (!d) return std::move(d).error();
    return Value(*d);
  }
  if (key == "timestampValue") {
    if (!v.is_string()) return bad(at, "expected an RFC 3339 string");
    auto t = Timestamp::from_rfc3339(v.get_ref<const std::string&>());
    if (!t) return bad(at, t.error().message());
    return Value(*t);
  }
  if (key == "stringValue") {
    if (!v.is_string()) return bad(at, "expected a string");
    return Value(v.get<std::string>());
  }
  if (key == "bytesValue") {
    if (!v.is_string()) return bad(at, "expected a base64 string");
    auto b = base64_decode(v.get_ref<const std::string&>());
    if (!b) return bad(at, b.error().message());
    return Value(Bytes{std::move(*b)});
  }
  if (key == "referenceValue") {
    if (!v.is_string()) return bad(at, "expected a document resource name");
    return Value(Reference{v.get<std::string>()});
  }
  if (key == "geoPointValue") {
    if (!v.is_object()) return bad(at, "expected {\"latitude\": .., \"longitude\": ..}");
    GeoPoint g;
    for (const auto& [k, x] : v.items()) {
      auto d = double_from_json(x, at + "/" + escape_pointer(k));
      if (!d) return std::move(d).error();
      if (k == "latitude") {
        g.latitude = *d;
      } else if (k == "longitude") {
        g.longitude = *d;
      } else {
        return bad(at, "unexpected key \"" + k + "\"");
      }
    }
    return Value(g);
  }
  if ((key == "arrayValue" || key == "mapValue") && depth >= kMaxValueDepth) return too_deep(at);
  if (key == "arrayValue") {
    if (!v.is_object()) return bad(at, "expected {\"values\": [...]}");
    Array out;
    for (const auto& [k, x] : v.items()) {
      if (k != "values" || !x.is_array()) return bad(at, "expected {\"values\": [...]}");
      out.reserve(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        auto e = mode == JsonMode::tagged
                     ? tagged_value(x[i], at + "/values/" + std::to_string(i), mode, depth + 1)
                     : lenient_value(x[i], at + "/values/" + std::to_string(i), depth + 1);
        if (!e) return std::move(e).error();
        out.push_back(std::move(*e));
      }
    }
    return Value(std::move(out));
  }
  if (key == "mapValue") {
    if (!v.is_object()) return bad(at, "expected {\"fields\": {...}}");
    Map out;
    for (const auto& [k, x] : v.items()) {
      if (k != "fields" || !x.is_object()) return bad(at, "expected {\"fields\": {...}}");
      for (const auto& [fk, fv] : x.items()) {
        const std::string fat = at + "/fields/" + escape_pointer(fk);
        auto e = mode == JsonMode::tagged ? tagged_value(fv, fat, mode, depth + 1)
                                          : lenient_value(fv, fat, depth + 1);
        if (!e) return std::move(e).error();
        out.emplace(fk, std::move(*e));
      }
    }
    return Value(std::move(out));
  }
  return bad(where, "unknown value type \"" + key + "\"");
}

bool looks_tagged(const json& j) {
  if (!j.is_object() || j.size() != 1) return false;
  const auto& key = j.begin().key();
  return key.size() > 5 && key.ends_with("Value");
}

Result<Value> lenient_value(const json& j, const std::string& where, std::size_t depth) {
  if (looks_tagged(j)) return tagged_value(j, where, JsonMode::lenient, depth);
  if ((j.is_array() || j.is_object()) && depth >= kMaxValueDepth) return too_deep(where);
  switch (j.type()) {
    case json::value_t::null:
      return Value(Null{});
    case json::value_t::boolean:
      return Value(j.get<bool>());
    case json::value_t::number_integer:
      return Value(j.get<std::int64_t>());
    case json::value_t::number_unsigned: {
      auto i = int_from_json(j, where);
      if (!i) return std::move(i).error();
      return Value(*i);
    }
    case json::value_t::number_float:
      return Value(j.get<double>());
    case json::value_t::string:
      return Value(j.get<std::string>());
    case json::value_t::array: {
      Array out;
      for (std::size_t i = 0; i < j.size(); ++i) {
        auto e = lenient_value(j[i], where + "/" + std::to_string(i), depth + 1);
        if (!e) return std::move(e).error();
        out.push_back(std::move(*e));
      }
      return Value(std::move(out));
    }
    case json::value_t::object: {
      Map out;
      for (const auto& [k, v] : j.items()) {
        auto e = lenient_value(v, where + "/" + escape_pointer(k), depth + 1);
        if (!e) return std::move(e).error();
        out.emplace(k, std::move(*e));
      }
      return Value(std::move(out));
    }
    default:
      return bad(where, "unsupported JSON value");
  }
}

Result<Map> fields_at(const json& j, const std::string& where, JsonMode mode) {
  if (!j.is_object()) return bad(where, "expected an object of fields");
  Map out;
  for (const auto& [k, v] : j.items()) {
    const std::string at = where + "/" + escape_pointer(k);
    auto e = mode == JsonMode::tagged ? tagged_value(v, at, mode, 0) : lenient_value(v, at, 0);
    if (!e) return std::move(e).error();
    out.emplace(k, std::move(*e));
  }
  return out;
}

// One pass over the text, before nlohmann builds (and later recursively prints or walks) a
// tree: refuses nesting deeper than `limit`, naming the JSON pointer where it happens. Only
// structure is tracked (strings are skipped, keys kept for the path); syntax is left to the
// parser.
Result<void> check_json_depth(std::string_view text, std::size_t limit) {
  struct Level {
    bool object = false;
    bool expect_key = false;
    std::string key;
    std::size_t index = 0;
  };
  std::vector<Level> stack;
  bool in_string = false;
  bool escaped = false;
  bool capturing = false;
  std::string captured;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
        if (capturing) captured.push_back(c);
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        if (capturing) stack.back().key = std::move(captured);
      } else if (capturing) {
        captured.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        capturing = !stack.empty() && stack.back().object && stack.back().expect_key;
        captured.clear();
        break;
      case '{':
      case '[':
        if (stack.size() >= limit) {
          std::string where;
          for (const Level& l : stack) {
            where += "/" + (l.object ? escape_pointer(l.key) : std::to_string(l.index));
          }
          return bad(where, "JSON nests deeper than " + std::to_string(limit) + " levels");
        }
        stack.push_back(Level{c == '{', c == '{', {}, 0});
        break;
      case '}':
      case ']':
        if (!stack.empty()) stack.pop_back();
        break;
      case ',':
        if (!stack.empty()) {
          if (stack.back().object) {
            stack.back().expect_key = true;
          } else {
            ++stack.back().index;
          }
        }
        break;
      case ':':
        if (!stack.empty() && stack.back().object) stack.back().expect_key = false;
        break;
      default:
        break;
    }
  }
  return ok();
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

json to_json(const Value& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>) {
          return {{"nullValue", nullptr}};
        } else if constexpr (std::is_same_v<T, bool>) {
          return {{"booleanValue", x}};
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return {{"integerValue", std::to_string(x)}};
        } else if constexpr (std::is_same_v<T, double>) {
          return {{"doubleValue", double_to_json(x)}};
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return {{"timestampValue", x.to_rfc3339()}};
        } else if constexpr (std::is_same_v<T, std::string>) {
          return {{"stringValue", x}};
        } else if constexpr (std::is_same_v<T, Bytes>) {
          return {{"bytesValue", base64_encode(x.data)}};
        } else if constexpr (std::is_same_v<T, Reference>) {
          return {{"referenceValue", x.name}};
        } else if constexpr (std::is_same_v<T, GeoPoint>) {
          json g = json::object();
          g["latitude"] = double_to_json(x.latitude);
          g["longitude"] = double_to_json(x.longitude);
          return {{"geoPointValue", std::move(g)}};
        } else if constexpr (std::is_same_v<T, Array>) {
          json values = json::array();
          for (const auto& e : x) values.push_back(to_json(e));
          json inner = json::object();
          inner["values"] = std::move(values);
          return {{"arrayValue", std::move(inner)}};
        } else {
          json inner = json::object();
          inner["fields"] = to_json(static_cast<const Map&>(x));
          return {{"mapValue", std::move(inner)}};
        }
      },
      v.variant());
}

json to_json(const Map& fields) {
  json out = json::object();
  for (const auto& [k, v] : fields) out[k] = to_json(v);
  return out;
}

json to_json(const Document& d) {
  json out = json::object();
  out["name"] = d.name;
  out["fields"] = to_json(d.fields);
  out["createTime"] = d.create_time.to_rfc3339();
  out["updateTime"] = d.update_time.to_rfc3339();
  return out;
}

Result<Value> value_from_json(const json& j, JsonMode mode) {
  return mode == JsonMode::tagged ? tagged_value(j, "", mode, 0) : lenient_value(j, "", 0);
}

Result<Map> fields_from_json(const json& j, JsonMode mode) {
  return fields_at(j, "", mode);
}

Result<Document> document_from_json(const json& j, JsonMode mode) {
  if (!j.is_object()) return bad("", "expected a document object {\"fields\": {...}}");
  Document d;
  for (const auto& [k, v] : j.items()) {
    if (k == "fields") {
      auto f = fields_at(v, "/fields", mode);
      if (!f) return std::move(f).error();
      d.fields = std::move(*f);
    } else if (k == "name") {
      if (!v.is_string()) return bad("/name", "expected a string");
      d.name = v.get<std::string>();
      const auto slash = d.name.rfind('/');
      d.id = slash == std::string::npos ? d.name : d.name.substr(slash + 1);
    } else if (k == "createTime" || k == "updateTime") {
      if (!v.is_string()) return bad("/" + k, "expected an RFC 3339 string");
      auto t = Timestamp::from_rfc3339(v.get_ref<const std::string&>());
      if (!t) return bad("/" + k, t.error().message());
      (k == "createTime" ? d.create_time : d.update_time) = *t;
    } else {
      return bad("", "unexpected key \"" + k +
                         "\" (a document has name, fields, createTime, "
                         "updateTime)");
    }
  }
  return d;
}

std::string dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

Result<json> parse_json(std::string_view text) {
  if (auto deep = check_json_depth(text, kMaxJsonDepth); !deep) return std::move(deep).error();
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again with exceptions only to get the position for the message; contained here.
    try {
      const json again = json::parse(text);
      (void)again;
    } catch (const json::exception& e) {
      // parse_error for bad syntax, out_of_range for numbers like 1E999 (found by fuzzing).
      return fail(errc::invalid_argument, std::string("invalid JSON: ") + e.what());
    }
    return fail(errc::invalid_argument, "invalid JSON");
  }
  return j;
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i < in.size()) {
    auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;  // also accept the URL-safe alphabet
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return fail(errc::invalid_argument, "base64: data after '=' padding");
    const int v = val(c);
    if (v < 0) {
      return fail(errc::invalid_argument,
                  "base64: invalid character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (pad > 2 || bits >= 6) return fail(errc::invalid_argument, "base64: bad length or padding");
  return out;
}

}  // namespace connpool::firestore
