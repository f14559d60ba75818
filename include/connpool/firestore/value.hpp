// Value: one typed Firestore value, and Document: a stored document with its fields.
//
// Every Firestore value type has its own C++ alternative, so nothing is lost between the server,
// C++ and JSON (json.hpp): an int64 beyond 2^53 stays an integer, a double keeps NaN, infinities
// and the sign of zero, bytes stay distinct from strings, timestamps keep their nanoseconds.
//
// Thread safety: plain values; concurrent reads are safe, writes need external synchronization.
#pragma once

#include "connpool/core/result.hpp"

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace connpool::firestore {

/// Firestore's null value.
struct Null {
  friend bool operator==(Null, Null) noexcept { return true; }
};

/// A point in time with nanosecond precision (seconds since the Unix epoch plus nanos in
/// [0, 999999999]). Firestore accepts 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
struct Timestamp {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;

  /// "2024-05-01T12:34:56.123456789Z" (RFC 3339, UTC; fraction trimmed to 0, 3, 6 or 9 digits).
  [[nodiscard]] std::string to_rfc3339() const;
  /// Parses RFC 3339 with an optional fraction of 1..9 digits and a `Z` or `+HH:MM` offset.
  static Result<Timestamp> from_rfc3339(std::string_view text);
  /// The current wall-clock time.
  static Timestamp now();

  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

/// Latitude/longitude in degrees.
struct GeoPoint {
  double latitude = 0;
  double longitude = 0;
  friend bool operator==(const GeoPoint&, const GeoPoint&) = default;
};

/// Raw bytes (any octets, not necessarily UTF-8). Distinct from a string value.
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

/// A reference to another document by its full resource name:
/// "projects/P/databases/D/documents/COLLECTION/ID[/...]".
struct Reference {
  std::string name;
  friend bool operator==(const Reference&, const Reference&) = default;
};

class Value;
using Array = std::vector<Value>;
/// Map fields; ordered by key so output is deterministic.
using Map = std::map<std::string, Value, std::less<>>;

/// One Firestore value.
class Value {
 public:
  enum class Type {
    null,
    boolean,
    integer,
    floating,
    timestamp,
    string,
    bytes,
    reference,
    geo_point,
    array,
    map,
  };

  Value() noexcept : v_(Null{}) {}
  Value(Null) noexcept : v_(Null{}) {}                 // NOLINT: implicit by design
  Value(std::nullptr_t) noexcept : v_(Null{}) {}       // NOLINT
  Value(bool b) noexcept : v_(b) {}                    // NOLINT
  Value(std::int64_t i) noexcept : v_(i) {}            // NOLINT
  Value(double d) noexcept : v_(d) {}                  // NOLINT
  Value(Timestamp t) noexcept : v_(t) {}               // NOLINT
  Value(std::string s) noexcept : v_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}    // NOLINT
  Value(const char* s) : v_(std::string(s)) {}         // NOLINT
  Value(Bytes b) noexcept : v_(std::move(b)) {}        // NOLINT
  Value(Reference r) noexcept : v_(std::move(r)) {}    // NOLINT
  Value(GeoPoint g) noexcept : v_(g) {}                // NOLINT
  Value(Array a) noexcept : v_(std::move(a)) {}        // NOLINT
  Value(Map m) noexcept : v_(std::move(m)) {}          // NOLINT
  /// Any other integer type is stored as int64 (unsigned values above INT64_MAX do not fit:
  /// build them explicitly).
  template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, std::int64_t>)
      Value(I i)
  noexcept : v_(static_cast<std::int64_t>(i)) {}  // NOLINT

  [[nodiscard]] Type type() const noexcept { return static_cast<Type>(v_.index()); }
  [[nodiscard]] bool is_null() const noexcept { return type() == Type::null; }

  /// Pointer to the alternative T (Null, bool, std::int64_t, double, Timestamp, std::string,
  /// Bytes, Reference, GeoPoint, Array, Map), or nullptr when the value holds another type.
  template <class T>
  [[nodiscard]] const T* get_if() const noexcept {
    return std::get_if<T>(&v_);
  }
  template <class T>
  [[nodiscard]] T* get_if() noexcept {
    return std::get_if<T>(&v_);
  }
  /// The alternative T; aborts when the value holds another type (check type() first).
  template <class T>
  [[nodiscard]] const T& as() const {
    const T* p = get_if<T>();
    if (!p) connpool::detail::bad_result_access("firestore::Value::as<T>() on another type");
    return *p;
  }

  /// Exact identity: same type and same content, where doubles compare by bit pattern (NaN equals
  /// NaN, -0.0 differs from 0.0). This is "round-trips losslessly", not Firestore's query order.
  friend bool operator==(const Value& a, const Value& b) noexcept;

  [[nodiscard]] const auto& variant() const noexcept { return v_; }

 private:
  std::variant<Null, bool, std::int64_t, double, Timestamp, std::string, Bytes, Reference, GeoPoint,
               Array, Map>
      v_;
};

/// "null", "boolean", "integer", ... (for error messages).
std::string_view to_string(Value::Type t) noexcept;

/// A stored document.
struct Document {
  /// Full resource name: "projects/P/databases/D/documents/COLLECTION/ID".
  std::string name;
  /// The last path segment.
  std::string id;
  Map fields;
  Timestamp create_time;
  Timestamp update_time;

  /// The path relative to the database's documents root: "COLLECTION/ID[/SUB/ID...]".
  [[nodiscard]] std::string path() const;
  /// Field by top-level name, or nullptr.
  [[nodiscard]] const Value* get(std::string_view field) const;

  friend bool operator==(const Document&, const Document&) = default;
};

}  // namespace connpool::firestore
