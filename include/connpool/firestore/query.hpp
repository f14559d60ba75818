// Query: a builder for Firestore structured queries and aggregations. Building never fails;
// Query::validate() (called by the client before any RPC) reports bad field paths, operators and
// combinations with errc::invalid_argument naming the culprit.
//
// Thread safety: plain values.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/firestore/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connpool::firestore {

enum class Op {
  less_than,              ///< "<"
  less_than_or_equal,     ///< "<="
  greater_than,           ///< ">"
  greater_than_or_equal,  ///< ">="
  equal,                  ///< "=="
  not_equal,              ///< "!="
  array_contains,         ///< "array-contains"
  array_contains_any,     ///< "array-contains-any" (value: array of 1..30)
  in,                     ///< "in" (value: array of 1..30)
  not_in,                 ///< "not-in" (value: array of 1..10)
};

/// "==", "<", "array-contains", ... (also "=" and "not_in"-style spellings) -> Op.
Result<Op> parse_op(std::string_view text);
std::string_view to_string(Op op) noexcept;

/// A filter: one field comparison, or an AND / OR of filters.
class Filter {
 public:
  enum class Kind { field, all_of, any_of };

  /// `field op value`. `== null` / `== NaN` (and `!=`) become Firestore's unary filters.
  static Filter where(std::string field, Op op, Value value) {
    Filter f;
    f.field_ = std::move(field);
    f.op_ = op;
    f.value_ = std::move(value);
    return f;
  }
  /// As above with the operator spelled as text; an unknown operator is reported by validate().
  static Filter where(std::string field, std::string_view op, Value value);
  static Filter all_of(std::vector<Filter> filters) {
    return composite(Kind::all_of, std::move(filters));
  }
  static Filter any_of(std::vector<Filter> filters) {
    return composite(Kind::any_of, std::move(filters));
  }

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& field() const noexcept { return field_; }
  [[nodiscard]] Op op() const noexcept { return op_; }
  [[nodiscard]] const Value& value() const noexcept { return value_; }
  [[nodiscard]] const std::vector<Filter>& filters() const noexcept { return filters_; }
  /// Set when where() was given an unknown operator text.
  [[nodiscard]] const std::string& bad_op() const noexcept { return bad_op_; }

  /// Checks field paths, operator/value combinations (in/not-in/array-contains-any need a
  /// non-empty array within Firestore's size limits; < > etc. need a non-null operand) and that
  /// composites are not empty.
  [[nodiscard]] Result<void> validate() const;

 private:
  static Filter composite(Kind k, std::vector<Filter> filters) {
    Filter f;
    f.kind_ = k;
    f.filters_ = std::move(filters);
    return f;
  }
  Kind kind_ = Kind::field;
  std::string field_;
  Op op_ = Op::equal;
  Value value_;
  std::vector<Filter> filters_;
  std::string bad_op_;
};

enum class Direction { ascending, descending };

struct OrderBy {
  std::string field;
  Direction direction = Direction::ascending;
};

/// A position in the query's order: one value per order_by field (a trailing extra value is
/// matched against the document name, as a Reference).
struct Cursor {
  std::vector<Value> values;
  bool inclusive = true;  ///< start_at / end_at (true) vs start_after / end_before (false)
};

/// A structured query over one collection (or all collections with an id: a collection group).
class Query {
 public:
  /// `collection` is a collection path: "users" or "users/alice/orders".
  explicit Query(std::string collection) : collection_(std::move(collection)) {}
  /// Every collection named `collection_id` anywhere in the database (or under `parent`, a
  /// document path, when non-empty).
  static Query collection_group(std::string collection_id, std::string parent = {}) {
    Query q(std::move(collection_id));
    q.all_descendants_ = true;
    q.parent_ = std::move(parent);
    return q;
  }

  /// Adds a filter; several where() calls are ANDed.
  Query& where(Filter f) & {
    filters_.push_back(std::move(f));
    return *this;
  }
  Query& where(std::string field, std::string_view op, Value v) & {
    return where(Filter::where(std::move(field), op, std::move(v)));
  }
  Query& where(std::string field, Op op, Value v) & {
    return where(Filter::where(std::move(field), op, std::move(v)));
  }
  Query& order_by(std::string field, Direction d = Direction::ascending) & {
    order_by_.push_back({std::move(field), d});
    return *this;
  }
  Query& limit(std::int32_t n) & {
    limit_ = n;
    limit_to_last_ = false;
    return *this;
  }
  /// The last n results in query order (needs at least one order_by).
  Query& limit_to_last(std::int32_t n) & {
    limit_ = n;
    limit_to_last_ = true;
    return *this;
  }
  Query& offset(std::int32_t n) & {
    offset_ = n;
    return *this;
  }
  Query& start_at(std::vector<Value> v) & { return set_cursor(start_, std::move(v), true); }
  Query& start_after(std::vector<Value> v) & { return set_cursor(start_, std::move(v), false); }
  Query& end_at(std::vector<Value> v) & { return set_cursor(end_, std::move(v), true); }
  Query& end_before(std::vector<Value> v) & { return set_cursor(end_, std::move(v), false); }
  /// Returns only these fields (an empty list returns only document names).
  Query& select(std::vector<std::string> fields) & {
    select_ = std::move(fields);
    return *this;
  }

  // Rvalue forms so a query can be built in one expression.
  template <class... A>
  Query&& where(A&&... a) && {
    return std::move(where(std::forward<A>(a)...));
  }
  Query&& order_by(std::string f, Direction d = Direction::ascending) && {
    return std::move(order_by(std::move(f), d));
  }
  Query&& limit(std::int32_t n) && { return std::move(limit(n)); }
  Query&& limit_to_last(std::int32_t n) && { return std::move(limit_to_last(n)); }
  Query&& offset(std::int32_t n) && { return std::move(offset(n)); }
  Query&& start_at(std::vector<Value> v) && { return std::move(start_at(std::move(v))); }
  Query&& start_after(std::vector<Value> v) && { return std::move(start_after(std::move(v))); }
  Query&& end_at(std::vector<Value> v) && { return std::move(end_at(std::move(v))); }
  Query&& end_before(std::vector<Value> v) && { return std::move(end_before(std::move(v))); }
  Query&& select(std::vector<std::string> f) && { return std::move(select(std::move(f))); }

  [[nodiscard]] const std::string& collection() const noexcept { return collection_; }
  [[nodiscard]] bool all_descendants() const noexcept { return all_descendants_; }
  [[nodiscard]] const std::string& parent() const noexcept { return parent_; }
  [[nodiscard]] const std::vector<Filter>& filters() const noexcept { return filters_; }
  [[nodiscard]] const std::vector<OrderBy>& orders() const noexcept { return order_by_; }
  [[nodiscard]] std::optional<std::int32_t> limit_value() const noexcept { return limit_; }
  [[nodiscard]] bool is_limit_to_last() const noexcept { return limit_to_last_; }
  [[nodiscard]] std::int32_t offset_value() const noexcept { return offset_; }
  [[nodiscard]] const std::optional<Cursor>& start() const noexcept { return start_; }
  [[nodiscard]] const std::optional<Cursor>& end() const noexcept { return end_; }
  [[nodiscard]] const std::optional<std::vector<std::string>>& selected() const noexcept {
    return select_;
  }

  /// Everything that can be checked without the server: paths, filters, limits, cursors.
  [[nodiscard]] Result<void> validate() const;

 private:
  Query& set_cursor(std::optional<Cursor>& c, std::vector<Value> v, bool inclusive) {
    c = Cursor{std::move(v), inclusive};
    return *this;
  }
  std::string collection_;
  bool all_descendants_ = false;
  std::string parent_;
  std::vector<Filter> filters_;
  std::vector<OrderBy> order_by_;
  std::optional<std::int32_t> limit_;
  bool limit_to_last_ = false;
  std::int32_t offset_ = 0;
  std::optional<Cursor> start_;
  std::optional<Cursor> end_;
  std::optional<std::vector<std::string>> select_;
};

/// One aggregation of an aggregation query.
struct Aggregation {
  enum class Kind { count, sum, avg };
  Kind kind = Kind::count;
  std::string field;  ///< sum / avg: the numeric field
  std::string alias;  ///< key in the result map

  static Aggregation count(std::string alias = "count") {
    return {Kind::count, {}, std::move(alias)};
  }
  static Aggregation sum(std::string field, std::string alias = "sum") {
    return {Kind::sum, std::move(field), std::move(alias)};
  }
  static Aggregation avg(std::string field, std::string alias = "avg") {
    return {Kind::avg, std::move(field), std::move(alias)};
  }
};

/// alias -> result (count: integer; sum: integer or double; avg: double, null when no values).
using AggregationResult = Map;

}  // namespace connpool::firestore
