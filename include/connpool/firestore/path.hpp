// Validation of collection ids, document ids, document paths and field paths, done on the client
// so a bad name fails with errc::invalid_argument naming it, before any RPC is sent.
//
// Firestore's rules
// (https://firebase.google.com/docs/firestore/quotas#collections_documents_and_fields): an id is
// valid UTF-8, 1..1500 bytes, contains no '/', is not "." or "..", and does not match
// __.*__ (reserved). A collection path has an odd number of segments, a document path an even one.
#pragma once

#include "connpool/core/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace connpool::firestore {

/// Checks one collection id or document id. `what` names it in the error ("collection id").
Result<void> validate_id(std::string_view id, std::string_view what);

/// Splits and checks a collection path "users" or "users/alice/orders" (odd segment count).
Result<std::vector<std::string>> parse_collection_path(std::string_view path);
/// Splits and checks a document path "users/alice" (even segment count).
Result<std::vector<std::string>> parse_document_path(std::string_view path);
/// The checks of parse_document_path without building the segments.
Result<void> validate_document_path(std::string_view path);
/// Checks `collection` (a collection path) and `id` and returns "collection/id".
Result<std::string> document_path(std::string_view collection, std::string_view id);

/// True when `s` is valid UTF-8 (no overlong forms, no surrogates).
bool is_valid_utf8(std::string_view s) noexcept;

/// A path to a (possibly nested) field: segments {"address", "city"}.
///
/// String form: segments joined by '.', a segment that is not a plain identifier
/// ([A-Za-z_][A-Za-z0-9_]*) is quoted in backticks with '\' escaping '`' and '\'. That is the
/// encoding Firestore uses in field masks and filters: `a.b`, `` `x.y`.z ``.
class FieldPath {
 public:
  FieldPath() = default;
  /// Segments taken as they are (any characters allowed in a segment, it will be quoted).
  explicit FieldPath(std::vector<std::string> segments) : segments_(std::move(segments)) {}

  /// Parses the dotted/backtick form. Errors name the text: empty segment, unterminated quote.
  static Result<FieldPath> parse(std::string_view text);

  [[nodiscard]] const std::vector<std::string>& segments() const noexcept { return segments_; }
  [[nodiscard]] bool empty() const noexcept { return segments_.empty(); }
  /// The canonical encoded form (see above).
  [[nodiscard]] std::string to_string() const;
  /// True when `this` is `other` or a prefix of it ("a" is a prefix of "a.b").
  [[nodiscard]] bool is_prefix_of(const FieldPath& other) const noexcept;

  friend bool operator==(const FieldPath&, const FieldPath&) = default;
  friend auto operator<=>(const FieldPath&, const FieldPath&) = default;

 private:
  std::vector<std::string> segments_;
};

/// Checks a field path: non-empty segments, each valid UTF-8, total length <= 1500 bytes.
Result<void> validate_field_path(const FieldPath& path);

}  // namespace connpool::firestore
