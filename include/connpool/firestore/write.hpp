// Write operations: set / create / update / delete, preconditions and field transforms. A Write
// is a description only; Client::commit() (a batch), the single-document calls and transactions
// send them. Field paths are strings in FieldPath's dotted/backtick syntax ("a.b", "`x.y`").
//
// Thread safety: plain values.
#pragma once

#include "connpool/firestore/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace connpool::firestore {

/// A condition the server checks before applying a write; when it fails the whole commit fails
/// (exists=false on an existing document: already_exists; otherwise failed_precondition /
/// not_found).
struct Precondition {
  enum class Kind { none, exists, not_exists, update_time };
  Kind kind = Kind::none;
  Timestamp update_time;  ///< for Kind::update_time: the document's last update time must match

  static Precondition none() { return {}; }
  static Precondition exists() { return {Kind::exists, {}}; }
  static Precondition not_exists() { return {Kind::not_exists, {}}; }
  static Precondition updated_at(Timestamp t) { return {Kind::update_time, t}; }
};

/// A server-side change of one field, applied after the write's data.
struct FieldTransform {
  enum class Kind {
    server_timestamp,  ///< set the field to the commit time
    increment,         ///< add `value` (integer or double) to the field
    maximum,           ///< max(field, value)
    minimum,           ///< min(field, value)
    array_union,       ///< append each of `elements` not already present
    array_remove,      ///< remove every occurrence of each of `elements`
  };
  std::string field;
  Kind kind = Kind::server_timestamp;
  Value value;     ///< increment / maximum / minimum operand
  Array elements;  ///< array_union / array_remove elements

  static FieldTransform server_timestamp(std::string field) {
    return {std::move(field), Kind::server_timestamp, {}, {}};
  }
  static FieldTransform increment(std::string field, Value by) {
    return {std::move(field), Kind::increment, std::move(by), {}};
  }
  static FieldTransform maximum(std::string field, Value v) {
    return {std::move(field), Kind::maximum, std::move(v), {}};
  }
  static FieldTransform minimum(std::string field, Value v) {
    return {std::move(field), Kind::minimum, std::move(v), {}};
  }
  static FieldTransform array_union(std::string field, Array elements) {
    return {std::move(field), Kind::array_union, {}, std::move(elements)};
  }
  static FieldTransform array_remove(std::string field, Array elements) {
    return {std::move(field), Kind::array_remove, {}, std::move(elements)};
  }
};

/// How set() treats fields that exist on the server but not in the new data.
struct SetOptions {
  /// false (default): replace the whole document. true: merge; with `merge_fields` empty, every
  /// leaf field of the data is written and other fields are kept.
  bool merge = false;
  /// With merge: only these field paths are written (a listed path absent from the data is
  /// deleted on the server).
  std::vector<std::string> merge_fields;

  static SetOptions overwrite() { return {}; }
  static SetOptions merge_all() { return {true, {}}; }
  static SetOptions merge_only(std::vector<std::string> fields) {
    return {true, std::move(fields)};
  }
};

/// One write to one document. `path` is "COLLECTION/ID[/SUB/ID...]".
struct Write {
  enum class Kind {
    set,        ///< create or replace (or merge, see SetOptions)
    create,     ///< create; fails with already_exists when the document exists
    update,     ///< change the listed field paths of an existing document (fails with not_found)
    remove,     ///< delete (no error when missing, unless a precondition says otherwise)
    transform,  ///< only field transforms, no data
  };
  Kind kind = Kind::set;
  std::string path;
  /// set/create: the document's fields. update: keys are field paths ("a.b") -> new values.
  Map fields;
  SetOptions set_options;
  /// update: field paths to delete.
  std::vector<std::string> delete_fields;
  Precondition precondition;
  std::vector<FieldTransform> transforms;

  static Write set(std::string path, Map fields, SetOptions options = {}) {
    Write w;
    w.kind = Kind::set;
    w.path = std::move(path);
    w.fields = std::move(fields);
    w.set_options = std::move(options);
    return w;
  }
  static Write create(std::string path, Map fields) {
    Write w;
    w.kind = Kind::create;
    w.path = std::move(path);
    w.fields = std::move(fields);
    w.precondition = Precondition::not_exists();
    return w;
  }
  /// Precondition defaults to exists(), as Firestore's update semantics require.
  static Write update(std::string path, Map field_values, std::vector<std::string> deletes = {},
                      Precondition precondition = Precondition::exists()) {
    Write w;
    w.kind = Kind::update;
    w.path = std::move(path);
    w.fields = std::move(field_values);
    w.delete_fields = std::move(deletes);
    w.precondition = precondition;
    return w;
  }
  static Write remove(std::string path, Precondition precondition = {}) {
    Write w;
    w.kind = Kind::remove;
    w.path = std::move(path);
    w.precondition = precondition;
    return w;
  }
  static Write transform(std::string path, std::vector<FieldTransform> transforms) {
    Write w;
    w.kind = Kind::transform;
    w.path = std::move(path);
    w.transforms = std::move(transforms);
    return w;
  }
  /// Adds field transforms to a set/create/update.
  Write& with_transforms(std::vector<FieldTransform> t) {
    for (auto& x : t) transforms.push_back(std::move(x));
    return *this;
  }
  Write& with_precondition(Precondition p) {
    precondition = p;
    return *this;
  }
};

/// The outcome of one write: when it was applied and the transforms' results (in order).
struct WriteResult {
  Timestamp update_time;  ///< zero for a delete
  Array transform_results;
};

/// Firestore's cap on writes in one commit.
inline constexpr std::size_t kMaxWritesPerCommit = 500;

}  // namespace connpool::firestore
