// Client-side checks of queries and filters, so mistakes fail before any RPC with a message that
// names the field and the rule.
#include "connpool/firestore/query.hpp"

#include "connpool/firestore/path.hpp"

#include <cmath>

namespace connpool::firestore {
namespace {

Error bad_filter(const Filter& f, std::string_view why) {
  return Error(errc::invalid_argument, "invalid filter on field \"" + f.field() + "\" (" +
                                           std::string(to_string(f.op())) +
                                           "): " + std::string(why));
}

Result<void> check_field(std::string_view field, std::string_view what) {
  if (field == "__name__") return ok();
  auto p = FieldPath::parse(field);
  if (!p) return std::move(p).error().with_context(what);
  return ok();
}

}  // namespace

Result<Op> parse_op(std::string_view t) {
  if (t == "<") return Op::less_than;
  if (t == "<=") return Op::less_than_or_equal;
  if (t == ">") return Op::greater_than;
  if (t == ">=") return Op::greater_than_or_equal;
  if (t == "==" || t == "=") return Op::equal;
  if (t == "!=" || t == "<>") return Op::not_equal;
  if (t == "array-contains" || t == "array_contains") return Op::array_contains;
  if (t == "array-contains-any" || t == "array_contains_any") return Op::array_contains_any;
  if (t == "in") return Op::in;
  if (t == "not-in" || t == "not_in") return Op::not_in;
  return fail(errc::invalid_argument,
              "unknown filter operator \"" + std::string(t) +
                  "\" (expected ==, !=, <, <=, >, >=, array-contains, array-contains-any, in, "
                  "not-in)");
}

std::string_view to_string(Op op) noexcept {
  switch (op) {
    case Op::less_than:
      return "<";
    case Op::less_than_or_equal:
      return "<=";
    case Op::greater_than:
      return ">";
    case Op::greater_than_or_equal:
      return ">=";
    case Op::equal:
      return "==";
    case Op::not_equal:
      return "!=";
    case Op::array_contains:
      return "array-contains";
    case Op::array_contains_any:
      return "array-contains-any";
    case Op::in:
      return "in";
    case Op::not_in:
      return "not-in";
  }
  return "?";
}

Filter Filter::where(std::string field, std::string_view op, Value value) {
  auto parsed = parse_op(op);
  Filter f = where(std::move(field), parsed ? *parsed : Op::equal, std::move(value));
  if (!parsed) f.bad_op_ = std::string(op);
  return f;
}

Result<void> Filter::validate() const {
  if (kind_ != Kind::field) {
    if (filters_.empty()) {
      return fail(errc::invalid_argument, std::string("invalid filter: an empty ") +
                                              (kind_ == Kind::all_of ? "AND" : "OR") +
                                              " composite");
    }
    for (const auto& f : filters_) {
      if (auto v = f.validate(); !v) return v;
    }
    return ok();
  }
  if (!bad_op_.empty()) {
    return fail(errc::invalid_argument, "invalid filter on field \"" + field_ +
                                            "\": " + parse_op(bad_op_).error().message());
  }
  if (auto v = check_field(field_, "in filter"); !v) return v;
  const auto t = value_.type();
  switch (op_) {
    case Op::in:
    case Op::not_in:
    case Op::array_contains_any: {
      const auto* arr = value_.get_if<Array>();
      if (!arr) return bad_filter(*this, "needs an array value, got " + std::string(to_string(t)));
      if (arr->empty()) return bad_filter(*this, "needs a non-empty array");
      const std::size_t max = op_ == Op::not_in ? 10 : 30;
      if (arr->size() > max) {
        return bad_filter(*this, "accepts at most " + std::to_string(max) + " values, got " +
                                     std::to_string(arr->size()));
      }
      break;
    }
    case Op::less_than:
    case Op::less_than_or_equal:
    case Op::greater_than:
    case Op::greater_than_or_equal: {
      if (t == Value::Type::null) return bad_filter(*this, "cannot compare with null");
      if (const auto* d = value_.get_if<double>(); d && std::isnan(*d)) {
        return bad_filter(*this, "cannot compare with NaN");
      }
      break;
    }
    case Op::array_contains:
    case Op::equal:
    case Op::not_equal:
      break;
  }
  if (field_ == "__name__" && (op_ != Op::in && op_ != Op::not_in) && t != Value::Type::reference &&
      t != Value::Type::string) {
    return bad_filter(*this, "__name__ compares with a reference or a document path");
  }
  return ok();
}

Result<void> Query::validate() const {
  if (all_descendants_) {
    if (auto v = validate_id(collection_, "collection group id"); !v) return v;
    if (!parent_.empty()) {
      if (auto p = parse_document_path(parent_); !p) return std::move(p).error();
    }
  } else if (auto c = parse_collection_path(collection_); !c) {
    return std::move(c).error();
  }
  for (const auto& f : filters_) {
    if (auto v = f.validate(); !v) return v;
  }
  for (const auto& o : order_by_) {
    if (auto v = check_field(o.field, "in order_by"); !v) return v;
  }
  if (limit_ && *limit_ < 0) {
    return fail(errc::invalid_argument,
                "invalid limit " + std::to_string(*limit_) + ": must be >= 0");
  }
  if (limit_to_last_ && order_by_.empty()) {
    return fail(errc::invalid_argument, "limit_to_last needs at least one order_by");
  }
  if (offset_ < 0) {
    return fail(errc::invalid_argument,
                "invalid offset " + std::to_string(offset_) + ": must be >= 0");
  }
  for (const auto* c : {&start_, &end_}) {
    if (*c && (*c)->values.empty()) {
      return fail(errc::invalid_argument, "a query cursor needs at least one value");
    }
    if (*c && (*c)->values.size() > order_by_.size() + 1) {
      return fail(errc::invalid_argument,
                  "a query cursor has " + std::to_string((*c)->values.size()) +
                      " values but the query orders by " + std::to_string(order_by_.size()) +
                      " field(s) (+1 for the document name)");
    }
  }
  if (select_) {
    for (const auto& s : *select_) {
      if (auto v = check_field(s, "in select"); !v) return v;
    }
  }
  return ok();
}

}  // namespace connpool::firestore
