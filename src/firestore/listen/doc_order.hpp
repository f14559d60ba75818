// Private: the order in which a listener's snapshot lists documents, Firestore's query order:
// each order_by field by Firestore's value order (null < booleans < numbers < timestamps <
// strings < bytes < references < geo points < arrays < maps), then the document name, segment by
// segment, in the direction of the last order_by.
#pragma once

#include "connpool/firestore/query.hpp"
#include "connpool/firestore/value.hpp"

#include <string_view>
#include <vector>

namespace connpool::firestore::detail {

/// <0, 0, >0 as Firestore orders the two values.
int compare_values(const Value& a, const Value& b);

/// Compares full document names segment by segment ("a/b" < "a-b/c" because '/' separates).
int compare_names(std::string_view a, std::string_view b);

/// The value at a dotted field path ("a.b"), or nullptr. "__name__" is not a field (see below).
const Value* field_at(const Map& fields, std::string_view path);

/// Strict weak order of documents for a set of order_by clauses (empty: by name).
class DocumentOrder {
 public:
  DocumentOrder() = default;
  explicit DocumentOrder(std::vector<OrderBy> orders) : orders_(std::move(orders)) {}
  [[nodiscard]] int compare(const Document& a, const Document& b) const;
  bool operator()(const Document& a, const Document& b) const { return compare(a, b) < 0; }

 private:
  std::vector<OrderBy> orders_;
};

}  // namespace connpool::firestore::detail
