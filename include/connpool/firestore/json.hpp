// Lossless JSON for Firestore values and documents.
//
// The format is Firestore's own REST representation (docs/firestore.md, "The JSON value format"):
// every value is an object with exactly one key naming its type, so nothing is guessed on the way
// back:
//
//   {"nullValue": null}                    {"booleanValue": true}
//   {"integerValue": "9007199254740993"}   (a string: JSON numbers lose int64 precision)
//   {"doubleValue": 1.5}   {"doubleValue": "NaN"} / "Infinity" / "-Infinity";  -0.0 stays -0.0
//   {"timestampValue": "2024-05-01T12:34:56.123456789Z"}
//   {"stringValue": "any unicode, \u0000 included"}
//   {"bytesValue": "<standard base64 with padding>"}
//   {"referenceValue": "projects/P/databases/D/documents/c/id"}
//   {"geoPointValue": {"latitude": 1.5, "longitude": -0.25}}
//   {"arrayValue": {"values": [<value>, ...]}}   ("values" may be absent when empty)
//   {"mapValue": {"fields": {"k": <value>, ...}}}  ("fields" may be absent when empty)
//
// A document is {"name": ..., "fields": {...}, "createTime": ..., "updateTime": ...}, as the REST
// API returns it; only "fields" is required when reading one back.
//
// Lenient mode (for command lines): plain JSON is also accepted where a value is expected: null,
// true/false, an integral number -> integer, other numbers -> double, a string -> string, an array
// -> array, an object that is not a tagged value -> map.
//
// Thread safety: pure functions.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/firestore/value.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace connpool::firestore {

enum class JsonMode {
  tagged,   ///< only the tagged format (what to_json() writes); anything else is an error
  lenient,  ///< tagged values, or plain JSON mapped as described above
};

[[nodiscard]] nlohmann::json to_json(const Value& v);
[[nodiscard]] nlohmann::json to_json(const Map& fields);  ///< {"name": <value>, ...}
[[nodiscard]] nlohmann::json to_json(const Document& d);

/// Firestore's own limit on nested maps and arrays in a value: deeper input is refused.
inline constexpr std::size_t kMaxValueDepth = 20;
/// The deepest JSON text parse_json accepts: a tagged value costs 3 JSON levels per Firestore
/// level ({"mapValue": {"fields": {...}}}), plus a document's own wrapper and a margin, so input
/// just over Firestore's limit still gets the converter's message with the value's path.
inline constexpr std::size_t kMaxJsonDepth = 3 * kMaxValueDepth + 8;

/// Errors (errc::invalid_argument) give the JSON pointer of the bad part: "/fields/a/mapValue...".
/// Maps and arrays nested deeper than kMaxValueDepth are refused (the error names the path);
/// the walk's recursion is bounded by that depth.
Result<Value> value_from_json(const nlohmann::json& j, JsonMode mode = JsonMode::tagged);
Result<Map> fields_from_json(const nlohmann::json& j, JsonMode mode = JsonMode::tagged);
/// Reads a document object; "name", "createTime" and "updateTime" are optional.
Result<Document> document_from_json(const nlohmann::json& j, JsonMode mode = JsonMode::tagged);

/// Serializes with `indent` (-1 = one line). Invalid UTF-8 in strings (which Firestore itself
/// never returns) is replaced by U+FFFD rather than failing.
[[nodiscard]] std::string dump(const nlohmann::json& j, int indent = -1);
/// Parses text; syntax errors become errc::invalid_argument with the position. Text nested
/// deeper than kMaxJsonDepth is refused before any tree is built (the error names the path):
/// the JSON tree's own serialisation and our walks recurse once per level.
Result<nlohmann::json> parse_json(std::string_view text);

/// Standard base64 (RFC 4648, with padding).
[[nodiscard]] std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace connpool::firestore
