// Firestore's Document from the protobuf wire format (see wire_document.hpp for why and for what
// is kept identical to protobuf's own parse).
#include "wire_document.hpp"

#include "connpool/firestore/path.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace connpool::firestore::detail {

namespace {

// Protobuf's default recursion limit: a Value nested deeper fails to parse there too.
constexpr int kMaxDepth = 100;

enum WireType : std::uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

/// A cursor over one message's bytes. Every read checks the bounds; a failed read leaves
/// the cursor unusable (callers stop at the first false).
class Reader {
 public:
  explicit Reader(std::string_view b)
      : p_(reinterpret_cast<const unsigned char*>(b.data())), end_(p_ + b.size()) {}

  [[nodiscard]] bool done() const noexcept { return p_ == end_; }

  bool varint(std::uint64_t& v) noexcept {
    v = 0;
    for (int shift = 0; shift < 64 && p_ != end_; shift += 7) {
      const unsigned char c = *p_++;
      v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) return true;
    }
    return false;  // truncated, or longer than 10 bytes
  }

  bool tag(std::uint32_t& field, std::uint32_t& wire) noexcept {
    std::uint64_t t = 0;
    if (!varint(t) || t > 0xffffffffu) return false;
    field = static_cast<std::uint32_t>(t >> 3);
    wire = static_cast<std::uint32_t>(t & 7);
    return field != 0;
  }

  bool fixed64(std::uint64_t& v) noexcept {
    if (end_ - p_ < 8) return false;
    std::memcpy(&v, p_, 8);  // little-endian on every platform this builds for
    p_ += 8;
    return true;
  }

  bool bytes(std::string_view& out) noexcept {
    std::uint64_t n = 0;
    if (!varint(n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    return true;
  }

  bool double_value(double& d) noexcept {
    std::uint64_t bits = 0;
    if (!fixed64(bits)) return false;
    std::memcpy(&d, &bits, sizeof d);
    return true;
  }

  /// Skips a field we do not read, as protobuf keeps it as an unknown field.
  bool skip(std::uint32_t field, std::uint32_t wire, int depth) noexcept {
    std::uint64_t v = 0;
    std::string_view s;
    switch (wire) {
      case kVarint:
        return varint(v);
      case kFixed64:
        return fixed64(v);
      case kLengthDelimited:
        return bytes(s);
      case kFixed32:
        if (end_ - p_ < 4) return false;
        p_ += 4;
        return true;
      case kStartGroup: {
        if (depth >= kMaxDepth) return false;
        for (;;) {
          std::uint32_t f = 0;
          std::uint32_t w = 0;
          if (!tag(f, w)) return false;
          if (w == kEndGroup) return f == field;
          if (!skip(f, w, depth + 1)) return false;
        }
      }
      default:
        return false;  // a stray end-group, or wire types 6 and 7
    }
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
};

bool utf8_string(Reader& r, std::string& out) {
  std::string_view s;
  if (!r.bytes(s) || !is_valid_utf8(s)) return false;
  out.assign(s);
  return true;
}

/// What a message's field handler did with one field.
enum class Field { read, unknown, malformed };

/// The loop every message parser below shares: `on(r, field, wire)` reads the field it knows
/// (Field::read), leaves the others to be skipped as protobuf skips unknown fields
/// (Field::unknown), or rejects the message (Field::malformed).
template <class OnField>
bool read_fields(std::string_view bytes, int depth, OnField on) {
  Reader r(bytes);
  while (!r.done()) {
    std::uint32_t f = 0;
    std::uint32_t w = 0;
    if (!r.tag(f, w)) return false;
    switch (on(r, f, w)) {
      case Field::read:
        break;
      case Field::unknown:
        if (!r.skip(f, w, depth)) return false;
        break;
      case Field::malformed:
        return false;
    }
  }
  return true;
}

Field read_if(bool ok) {
  return ok ? Field::read : Field::malformed;
}

// google.protobuf.Timestamp: seconds = 1 (int64), nanos = 2 (int32).
bool parse_timestamp(std::string_view bytes, Timestamp& t, int depth) {
  return read_fields(bytes, depth, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::uint64_t v = 0;
    if (w != kVarint || (f != 1 && f != 2)) return Field::unknown;
    if (!r.varint(v)) return Field::malformed;
    if (f == 1) {
      t.seconds = static_cast<std::int64_t>(v);
    } else {
      t.nanos = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return Field::read;
  });
}

// google.type.LatLng: latitude = 1, longitude = 2 (double).
bool parse_lat_lng(std::string_view bytes, GeoPoint& g, int depth) {
  return read_fields(bytes, depth, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    if (w != kFixed64 || (f != 1 && f != 2)) return Field::unknown;
    return read_if(r.double_value(f == 1 ? g.latitude : g.longitude));
  });
}

bool parse_value(std::string_view bytes, Value& out, int depth);

// One entry of a map<string, Value>: key = 1, value = 2. A later entry with the same key wins.
bool parse_map_entry(std::string_view bytes, Map& m, int depth) {
  if (depth >= kMaxDepth) return false;
  std::string key;
  Value value;
  const bool ok = read_fields(bytes, depth, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::string_view s;
    if (w != kLengthDelimited || (f != 1 && f != 2)) return Field::unknown;
    if (f == 1) return read_if(utf8_string(r, key));
    return read_if(r.bytes(s) && parse_value(s, value, depth + 1));
  });
  if (!ok) return false;
  m.insert_or_assign(std::move(key), std::move(value));
  return true;
}

/// A repeated message field `field_number`, each element handed to `element(bytes)`.
template <class Element>
bool parse_repeated(std::string_view bytes, std::uint32_t field_number, int depth,
                    Element element) {
  if (depth >= kMaxDepth) return false;
  return read_fields(bytes, depth, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::string_view s;
    if (f != field_number || w != kLengthDelimited) return Field::unknown;
    return read_if(r.bytes(s) && element(s));
  });
}

// MapValue: fields = 1 (map entries).
bool parse_fields(std::string_view bytes, Map& m, int depth) {
  return parse_repeated(bytes, 1, depth,
                        [&](std::string_view s) { return parse_map_entry(s, m, depth + 1); });
}

// ArrayValue: values = 1 (repeated Value).
bool parse_array(std::string_view bytes, Array& a, int depth) {
  return parse_repeated(bytes, 1, depth, [&](std::string_view s) {
    return parse_value(s, a.emplace_back(), depth + 1);
  });
}

/// The alternative T of `v`: the one it holds (a repeated message field merges into it, as in
/// protobuf's oneof), or a fresh one.
template <class T>
T& hold(Value& v) {
  if (T* p = v.get_if<T>()) return *p;
  v = Value(T{});
  return *v.get_if<T>();
}

// google.firestore.v1.Value: a oneof; the field read last decides the type, as in protobuf.
bool parse_value(std::string_view bytes, Value& out, int depth) {
  if (depth >= kMaxDepth) return false;
  return read_fields(bytes, depth, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::uint64_t v = 0;
    std::string_view s;
    if (w == kVarint && (f == 1 || f == 2 || f == 11)) {
      if (!r.varint(v)) return Field::malformed;
      if (f == 1) {
        out = Value(v != 0);
      } else if (f == 2) {
        out = Value(static_cast<std::int64_t>(v));
      } else {
        out = Value(Null{});
      }
      return Field::read;
    }
    if (w == kFixed64 && f == 3) {
      double d = 0;
      if (!r.double_value(d)) return Field::malformed;
      out = Value(d);
      return Field::read;
    }
    if (w != kLengthDelimited ||
        !(f == 5 || f == 6 || f == 8 || f == 9 || f == 10 || f == 17 || f == 18)) {
      return Field::unknown;
    }
    if (!r.bytes(s)) return Field::malformed;
    switch (f) {
      case 5:  // reference_value
        if (!is_valid_utf8(s)) return Field::malformed;
        out = Value(Reference{std::string(s)});
        return Field::read;
      case 6:  // map_value
        return read_if(parse_fields(s, hold<Map>(out), depth + 1));
      case 8:  // geo_point_value
        return read_if(parse_lat_lng(s, hold<GeoPoint>(out), depth + 1));
      case 9:  // array_value
        return read_if(parse_array(s, hold<Array>(out), depth + 1));
      case 10:  // timestamp_value
        return read_if(parse_timestamp(s, hold<Timestamp>(out), depth + 1));
      case 17:  // string_value
        if (!is_valid_utf8(s)) return Field::malformed;
        out = Value(std::string(s));
        return Field::read;
      default:  // 18: bytes_value
        out = Value(Bytes{std::string(s)});
        return Field::read;
    }
  });
}

}  // namespace

// google.firestore.v1.Document: name = 1, fields = 2, create_time = 3, update_time = 4.
bool parse_document(std::string_view bytes, Document& out) {
  constexpr int depth = 1;
  bool named = false;
  const bool ok = read_fields(bytes, depth, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::string_view s;
    if (w != kLengthDelimited || f < 1 || f > 4) return Field::unknown;
    if (f == 1) {
      named = true;
      return read_if(utf8_string(r, out.name));
    }
    if (!r.bytes(s)) return Field::malformed;
    return read_if(f == 2   ? parse_map_entry(s, out.fields, depth + 1)
                   : f == 3 ? parse_timestamp(s, out.create_time, depth + 1)
                            : parse_timestamp(s, out.update_time, depth + 1));
  });
  if (!ok) return false;
  if (named) {
    // As document_from_proto: the id is the name's last segment.
    const auto slash = out.name.rfind('/');
    out.id = slash == std::string::npos ? out.name : out.name.substr(slash + 1);
  }
  return true;
}

// google.firestore.v1.RunQueryResponse: document = 1; the rest is not used by run_query.
bool parse_run_query_response(std::string_view bytes, WireRunQueryResponse& out) {
  out.document.reset();
  return read_fields(bytes, 0, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::string_view s;
    if (f != 1 || w != kLengthDelimited) return Field::unknown;
    if (!r.bytes(s)) return Field::malformed;
    if (!out.document) out.document.emplace();
    return read_if(parse_document(s, *out.document));
  });
}

// google.firestore.v1.BatchGetDocumentsResponse: found = 1 | missing = 2 (a oneof: the last one
// read wins, a repeated `found` merges); transaction and read_time are not used.
bool parse_batch_get_response(std::string_view bytes, WireBatchGetResponse& out) {
  out.found.reset();
  out.missing.reset();
  return read_fields(bytes, 0, [&](Reader& r, std::uint32_t f, std::uint32_t w) {
    std::string_view s;
    if ((f != 1 && f != 2) || w != kLengthDelimited) return Field::unknown;
    if (f == 2) {
      out.found.reset();
      out.missing.emplace();
      return read_if(utf8_string(r, *out.missing));
    }
    if (!r.bytes(s)) return Field::malformed;
    out.missing.reset();
    if (!out.found) out.found.emplace();
    return read_if(parse_document(s, *out.found));
  });
}

}  // namespace connpool::firestore::detail
