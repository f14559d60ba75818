#include "convert.hpp"

#include "connpool/firestore/path.hpp"

#include <algorithm>
#include <cmath>

namespace connpool::firestore::detail {
namespace {

Error bad(std::string_view where, std::string_view why) {
  return Error(errc::invalid_argument, std::string(why) + " at " + std::string(where));
}

/// Where a value sits in a document ("document \"c/d\".a.b[2]"), for error messages only. A chain
/// of views on the caller's stack, rendered only when a value is rejected: building the text for
/// every field and array element cost an allocation each on every write (issue 19, CPU per op).
struct Where {
  std::string_view prefix;  // the root: prefix + text + suffix
  std::string_view text;    // the root's text, or a map key
  std::string_view suffix;
  const Where* parent = nullptr;
  std::size_t index = 0;  // an array element when is_index
  bool is_index = false;

  static Where root(std::string_view text) { return Where{{}, text, {}}; }
  Where key(std::string_view k) const { return Where{{}, k, {}, this}; }
  Where element(std::size_t i) const { return Where{{}, {}, {}, this, i, true}; }

  std::string str() const {
    if (!parent) return std::string(prefix) + std::string(text) + std::string(suffix);
    std::string out = parent->str();
    if (is_index) {
      out += '[';
      out += std::to_string(index);
      out += ']';
    } else {
      out += '.';
      out += text;
    }
    return out;
  }
};

Error bad(const Where& where, std::string_view why) {
  return bad(where.str(), why);
}

Result<void> value_to_proto(const Value& in, v1::Value& out, const Where& where);

Result<void> map_to_proto(const Map& in, google::protobuf::Map<std::string, v1::Value>& out,
                          const Where& where) {
  for (const auto& [k, v] : in) {
    if (k.empty()) return bad(where, "empty field name");
    if (!is_valid_utf8(k)) return bad(where, "field name is not valid UTF-8");
    if (auto r = value_to_proto(v, out[k], where.key(k)); !r) return r;
  }
  return ok();
}

Result<void> value_to_proto(const Value& in, v1::Value& out, const Where& where) {
  return std::visit(
      [&](const auto& x) -> Result<void> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>) {
          out.set_null_value(google::protobuf::NULL_VALUE);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.set_boolean_value(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out.set_integer_value(x);
        } else if constexpr (std::is_same_v<T, double>) {
          out.set_double_value(x);
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          if (x.nanos < 0 || x.nanos > 999999999) return bad(where, "timestamp nanos out of range");
          timestamp_to_proto(x, *out.mutable_timestamp_value());
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!is_valid_utf8(x)) return bad(where, "string is not valid UTF-8 (use Bytes)");
          out.set_string_value(x);
        } else if constexpr (std::is_same_v<T, Bytes>) {
          out.set_bytes_value(x.data);
        } else if constexpr (std::is_same_v<T, Reference>) {
          if (!x.name.starts_with("projects/") || x.name.find("/documents/") == std::string::npos) {
            return bad(where, "reference \"" + x.name +
                                  "\" is not a document name "
                                  "(projects/P/databases/D/documents/...)");
          }
          out.set_reference_value(x.name);
        } else if constexpr (std::is_same_v<T, GeoPoint>) {
          out.mutable_geo_point_value()->set_latitude(x.latitude);
          out.mutable_geo_point_value()->set_longitude(x.longitude);
        } else if constexpr (std::is_same_v<T, Array>) {
          auto* arr = out.mutable_array_value();
          arr->mutable_values()->Reserve(static_cast<int>(x.size()));
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (x[i].type() == Value::Type::array) {
              // Firestore rejects it too ("Cannot convert an array value in an array value").
              return bad(where.element(i),
                         "an array cannot directly contain an array (wrap it in a map)");
            }
            if (auto r = value_to_proto(x[i], *arr->add_values(), where.element(i)); !r) return r;
          }
        } else {
          return map_to_proto(x, *out.mutable_map_value()->mutable_fields(), where);
        }
        return ok();
      },
      in.variant());
}

Result<FieldPath> parse_field(std::string_view text, std::string_view what) {
  auto p = FieldPath::parse(text);
  if (!p) return std::move(p).error().with_context(what);
  return p;
}

/// Puts `v` at `path` inside nested maps of `fields` (update() data keyed by field paths).
Result<void> put_path(Map& fields, const FieldPath& path, Value v) {
  Map* cur = &fields;
  const auto& segs = path.segments();
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    auto [it, inserted] = cur->try_emplace(segs[i], Value(Map{}));
    Map* next = it->second.get_if<Map>();
    if (!next) {
      return fail(errc::invalid_argument,
                  "field path \"" + path.to_string() + "\" conflicts with another updated field");
    }
    cur = next;
  }
  if (!cur->try_emplace(segs.back(), std::move(v)).second) {
    return fail(errc::invalid_argument,
                "field path \"" + path.to_string() + "\" is given twice or conflicts");
  }
  return ok();
}

void leaf_paths(const Map& m, std::vector<std::string>& prefix, std::vector<FieldPath>& out) {
  for (const auto& [k, v] : m) {
    prefix.push_back(k);
    const auto* sub = v.get_if<Map>();
    if (sub && !sub->empty()) {
      leaf_paths(*sub, prefix, out);
    } else {
      out.emplace_back(prefix);
    }
    prefix.pop_back();
  }
}

Result<void> check_no_prefix_conflicts(std::vector<FieldPath>& paths) {
  std::sort(paths.begin(), paths.end());
  for (std::size_t i = 1; i < paths.size(); ++i) {
    if (paths[i - 1].is_prefix_of(paths[i])) {
      return fail(errc::invalid_argument, "field paths \"" + paths[i - 1].to_string() +
                                              "\" and \"" + paths[i].to_string() + "\" overlap");
    }
  }
  return ok();
}

Result<void> transform_to_proto(const FieldTransform& t,
                                v1::DocumentTransform::FieldTransform& out) {
  auto path = parse_field(t.field, "in field transform");
  if (!path) return std::move(path).error();
  out.set_field_path(path->to_string());
  const std::string where = "transform of \"" + t.field + "\"";
  auto number = [&](v1::Value* dst) -> Result<void> {
    const auto ty = t.value.type();
    if (ty != Value::Type::integer && ty != Value::Type::floating) {
      return bad(where, "a numeric transform needs an integer or double operand, got " +
                            std::string(to_string(ty)));
    }
    return to_proto(t.value, *dst, where);
  };
  auto elements = [&](v1::ArrayValue* dst) -> Result<void> {
    for (const auto& e : t.elements) {
      if (auto r = to_proto(e, *dst->add_values(), where); !r) return r;
    }
    return ok();
  };
  switch (t.kind) {
    case FieldTransform::Kind::server_timestamp:
      out.set_set_to_server_value(v1::DocumentTransform::FieldTransform::REQUEST_TIME);
      return ok();
    case FieldTransform::Kind::increment:
      return number(out.mutable_increment());
    case FieldTransform::Kind::maximum:
      return number(out.mutable_maximum());
    case FieldTransform::Kind::minimum:
      return number(out.mutable_minimum());
    case FieldTransform::Kind::array_union:
      return elements(out.mutable_append_missing_elements());
    case FieldTransform::Kind::array_remove:
      return elements(out.mutable_remove_all_from_array());
  }
  return ok();
}

}  // namespace

Timestamp timestamp_from_proto(const google::protobuf::Timestamp& t) {
  return Timestamp{t.seconds(), t.nanos()};
}

void timestamp_to_proto(const Timestamp& in, google::protobuf::Timestamp& out) {
  out.set_seconds(in.seconds);
  out.set_nanos(in.nanos);
}

Result<void> to_proto(const Value& in, v1::Value& out, std::string_view where) {
  return value_to_proto(in, out, Where::root(where));
}

Result<void> fields_to_proto(const Map& in, google::protobuf::Map<std::string, v1::Value>& out,
                             std::string_view where) {
  return map_to_proto(in, out, Where::root(where));
}

Value from_proto(const v1::Value& in) {
  switch (in.value_type_case()) {
    case v1::Value::kNullValue:
      return Value(Null{});
    case v1::Value::kBooleanValue:
      return Value(in.boolean_value());
    case v1::Value::kIntegerValue:
      return Value(static_cast<std::int64_t>(in.integer_value()));
    case v1::Value::kDoubleValue:
      return Value(in.double_value());
    case v1::Value::kTimestampValue:
      return Value(timestamp_from_proto(in.timestamp_value()));
    case v1::Value::kStringValue:
      return Value(in.string_value());
    case v1::Value::kBytesValue:
      return Value(Bytes{in.bytes_value()});
    case v1::Value::kReferenceValue:
      return Value(Reference{in.reference_value()});
    case v1::Value::kGeoPointValue:
      return Value(GeoPoint{in.geo_point_value().latitude(), in.geo_point_value().longitude()});
    case v1::Value::kArrayValue: {
      Array a;
      a.reserve(static_cast<std::size_t>(in.array_value().values_size()));
      for (const auto& e : in.array_value().values()) a.push_back(from_proto(e));
      return Value(std::move(a));
    }
    case v1::Value::kMapValue:
      return Value(fields_from_proto(in.map_value().fields()));
    case v1::Value::VALUE_TYPE_NOT_SET:
      break;
  }
  return Value(Null{});
}

Map fields_from_proto(const google::protobuf::Map<std::string, v1::Value>& in) {
  Map m;
  for (const auto& [k, v] : in) m.emplace(k, from_proto(v));
  return m;
}

Document document_from_proto(const v1::Document& in) {
  Document d;
  d.name = in.name();
  const auto slash = d.name.rfind('/');
  d.id = slash == std::string::npos ? d.name : d.name.substr(slash + 1);
  d.fields = fields_from_proto(in.fields());
  d.create_time = timestamp_from_proto(in.create_time());
  d.update_time = timestamp_from_proto(in.update_time());
  return d;
}

Result<std::string> document_name(std::string_view root, std::string_view path) {
  if (auto p = validate_document_path(path); !p) return std::move(p).error();
  std::string out(root);
  out += '/';
  out += path;
  return out;
}

Result<void> write_to_proto(const Write& w, std::string_view root, v1::Write& out) {
  auto name = document_name(root, w.path);
  if (!name) return std::move(name).error();
  // The fields' error locations are rendered only on failure (Where); the other checks below
  // are not per field and keep a plain string.
  const Where doc_where{"document \"", w.path, "\""};
  auto fill_document = [&](const Map& fields) -> Result<void> {
    auto* doc = out.mutable_update();
    doc->set_name(*name);
    return map_to_proto(fields, *doc->mutable_fields(), doc_where);
  };
  switch (w.kind) {
    case Write::Kind::set: {
      if (auto r = fill_document(w.fields); !r) return r;
      if (w.set_options.merge) {
        std::vector<FieldPath> mask;
        if (w.set_options.merge_fields.empty()) {
          std::vector<std::string> prefix;
          leaf_paths(w.fields, prefix, mask);
        } else {
          for (const auto& f : w.set_options.merge_fields) {
            auto p = parse_field(f, "in merge fields of " + doc_where.str());
            if (!p) return std::move(p).error();
            mask.push_back(std::move(*p));
          }
        }
        if (auto r = check_no_prefix_conflicts(mask); !r)
          return r.error().with_context(doc_where.str());
        auto* m = out.mutable_update_mask();
        for (const auto& p : mask) m->add_field_paths(p.to_string());
      }
      break;
    }
    case Write::Kind::create:
      if (auto r = fill_document(w.fields); !r) return r;
      break;
    case Write::Kind::update: {
      Map nested;
      std::vector<FieldPath> mask;
      for (const auto& [k, v] : w.fields) {
        auto p = parse_field(k, "in update of " + doc_where.str());
        if (!p) return std::move(p).error();
        if (auto r = put_path(nested, *p, v); !r) return r.error().with_context(doc_where.str());
        mask.push_back(std::move(*p));
      }
      for (const auto& k : w.delete_fields) {
        auto p = parse_field(k, "in deleted fields of " + doc_where.str());
        if (!p) return std::move(p).error();
        mask.push_back(std::move(*p));
      }
      if (mask.empty() && w.transforms.empty()) {
        return fail(errc::invalid_argument, "update of " + doc_where.str() + " changes no field");
      }
      if (auto r = check_no_prefix_conflicts(mask); !r)
        return r.error().with_context(doc_where.str());
      if (auto r = fill_document(nested); !r) return r;
      auto* m = out.mutable_update_mask();
      for (const auto& p : mask) m->add_field_paths(p.to_string());
      break;
    }
    case Write::Kind::remove:
      out.set_delete_(*name);
      break;
    case Write::Kind::transform: {
      if (w.transforms.empty()) {
        return fail(errc::invalid_argument,
                    "transform of " + doc_where.str() + " lists no transform");
      }
      auto* t = out.mutable_transform();
      t->set_document(*name);
      for (const auto& ft : w.transforms) {
        if (auto r = transform_to_proto(ft, *t->add_field_transforms()); !r) return r;
      }
      break;
    }
  }
  if (w.kind != Write::Kind::transform && w.kind != Write::Kind::remove) {
    for (const auto& ft : w.transforms) {
      if (auto r = transform_to_proto(ft, *out.add_update_transforms()); !r) return r;
    }
  } else if (w.kind == Write::Kind::remove && !w.transforms.empty()) {
    return fail(errc::invalid_argument,
                "a delete of " + doc_where.str() + " cannot carry transforms");
  }
  switch (w.precondition.kind) {
    case Precondition::Kind::none:
      break;
    case Precondition::Kind::exists:
      out.mutable_current_document()->set_exists(true);
      break;
    case Precondition::Kind::not_exists:
      out.mutable_current_document()->set_exists(false);
      break;
    case Precondition::Kind::update_time:
      timestamp_to_proto(w.precondition.update_time,
                         *out.mutable_current_document()->mutable_update_time());
      break;
  }
  return ok();
}

namespace {

using SQ = v1::StructuredQuery;

Result<std::string> field_ref(std::string_view field) {
  if (field == "__name__") return std::string(field);
  auto p = parse_field(field, "in query");
  if (!p) return std::move(p).error();
  return p->to_string();
}

/// __name__ comparisons take references; accept a plain id or "collection/id" for convenience.
Value name_value(const Value& v, std::string_view root, std::string_view collection) {
  const auto* s = v.get_if<std::string>();
  if (!s) return v;
  if (s->find('/') == std::string::npos) {
    return Value(Reference{std::string(root) + "/" + std::string(collection) + "/" + *s});
  }
  return Value(Reference{std::string(root) + "/" + *s});
}

Result<void> filter_to_proto(const Filter& f, std::string_view root, std::string_view collection,
                             SQ::Filter& out) {
  if (f.kind() != Filter::Kind::field) {
    auto* c = out.mutable_composite_filter();
    c->set_op(f.kind() == Filter::Kind::all_of ? SQ::CompositeFilter::AND
                                               : SQ::CompositeFilter::OR);
    for (const auto& sub : f.filters()) {
      if (auto r = filter_to_proto(sub, root, collection, *c->add_filters()); !r) return r;
    }
    return ok();
  }
  auto path = field_ref(f.field());
  if (!path) return std::move(path).error();
  const Value& v = f.value();
  const auto* d = v.get_if<double>();
  const bool is_nan = d && std::isnan(*d);
  if ((f.op() == Op::equal || f.op() == Op::not_equal) && (v.is_null() || is_nan)) {
    // Firestore expresses comparisons with null and NaN as unary filters.
    auto* u = out.mutable_unary_filter();
    u->mutable_field()->set_field_path(*path);
    const bool eq = f.op() == Op::equal;
    u->set_op(v.is_null() ? (eq ? SQ::UnaryFilter::IS_NULL : SQ::UnaryFilter::IS_NOT_NULL)
                          : (eq ? SQ::UnaryFilter::IS_NAN : SQ::UnaryFilter::IS_NOT_NAN));
    return ok();
  }
  auto* ff = out.mutable_field_filter();
  ff->mutable_field()->set_field_path(*path);
  static constexpr SQ::FieldFilter::Operator kOps[] = {SQ::FieldFilter::LESS_THAN,
                                                       SQ::FieldFilter::LESS_THAN_OR_EQUAL,
                                                       SQ::FieldFilter::GREATER_THAN,
                                                       SQ::FieldFilter::GREATER_THAN_OR_EQUAL,
                                                       SQ::FieldFilter::EQUAL,
                                                       SQ::FieldFilter::NOT_EQUAL,
                                                       SQ::FieldFilter::ARRAY_CONTAINS,
                                                       SQ::FieldFilter::ARRAY_CONTAINS_ANY,
                                                       SQ::FieldFilter::IN,
                                                       SQ::FieldFilter::NOT_IN};
  ff->set_op(kOps[static_cast<int>(f.op())]);
  Value operand = v;
  if (f.field() == "__name__") {
    if (const auto* arr = v.get_if<Array>()) {
      Array conv;
      for (const auto& e : *arr) conv.push_back(name_value(e, root, collection));
      operand = Value(std::move(conv));
    } else {
      operand = name_value(v, root, collection);
    }
  }
  return value_to_proto(operand, *ff->mutable_value(), Where{"filter on \"", f.field(), "\""});
}

Result<void> cursor_to_proto(const Cursor& c, bool is_start, const Query& q, std::string_view root,
                             v1::Cursor& out) {
  // Proto semantics: `before` = the position is just before the given values.
  out.set_before(is_start ? c.inclusive : !c.inclusive);
  for (std::size_t i = 0; i < c.values.size(); ++i) {
    const bool is_name =
        i == q.orders().size() || (i < q.orders().size() && q.orders()[i].field == "__name__");
    const Value v = is_name ? name_value(c.values[i], root, q.collection()) : c.values[i];
    if (auto r = to_proto(v, *out.add_values(), "query cursor"); !r) return r;
  }
  return ok();
}

}  // namespace

Result<void> query_to_proto(const Query& q, std::string_view root, SQ& out, std::string& parent) {
  if (auto v = q.validate(); !v) return v;
  auto* from = out.add_from();
  if (q.all_descendants()) {
    parent = q.parent().empty() ? std::string(root) : std::string(root) + "/" + q.parent();
    from->set_collection_id(q.collection());
    from->set_all_descendants(true);
  } else {
    const auto slash = q.collection().rfind('/');
    if (slash == std::string::npos) {
      parent = std::string(root);
      from->set_collection_id(q.collection());
    } else {
      parent = std::string(root) + "/" + q.collection().substr(0, slash);
      from->set_collection_id(q.collection().substr(slash + 1));
    }
  }
  if (q.filters().size() == 1) {
    if (auto r = filter_to_proto(q.filters()[0], root, q.collection(), *out.mutable_where()); !r) {
      return r;
    }
  } else if (q.filters().size() > 1) {
    auto* c = out.mutable_where()->mutable_composite_filter();
    c->set_op(SQ::CompositeFilter::AND);
    for (const auto& f : q.filters()) {
      if (auto r = filter_to_proto(f, root, q.collection(), *c->add_filters()); !r) return r;
    }
  }
  const bool flip = q.is_limit_to_last();
  bool has_name_order = false;
  for (const auto& o : q.orders()) {
    auto path = field_ref(o.field);
    if (!path) return std::move(path).error();
    has_name_order = has_name_order || o.field == "__name__";
    auto* ord = out.add_order_by();
    ord->mutable_field()->set_field_path(*path);
    const bool desc = (o.direction == Direction::descending) != flip;
    ord->set_direction(desc ? SQ::DESCENDING : SQ::ASCENDING);
  }
  const bool cursor_names_doc = (q.start() && q.start()->values.size() > q.orders().size()) ||
                                (q.end() && q.end()->values.size() > q.orders().size());
  if (!has_name_order && (flip || cursor_names_doc)) {
    // The server orders by __name__ last, in the last explicit direction. A cursor naming a
    // document, or a reversed (limit_to_last) query, needs that order spelled out.
    auto* ord = out.add_order_by();
    ord->mutable_field()->set_field_path("__name__");
    const bool last_desc =
        !q.orders().empty() && q.orders().back().direction == Direction::descending;
    const bool desc = last_desc != flip;
    ord->set_direction(desc ? SQ::DESCENDING : SQ::ASCENDING);
  }
  // limit_to_last runs the query reversed: the end cursor becomes the start (an inclusive end
  // becomes an inclusive start) and the caller reverses the results.
  const auto& start = flip ? q.end() : q.start();
  const auto& end = flip ? q.start() : q.end();
  if (start) {
    if (auto r = cursor_to_proto(*start, true, q, root, *out.mutable_start_at()); !r) return r;
  }
  if (end) {
    if (auto r = cursor_to_proto(*end, false, q, root, *out.mutable_end_at()); !r) return r;
  }
  if (q.offset_value() > 0) out.set_offset(q.offset_value());
  if (q.limit_value()) out.mutable_limit()->set_value(*q.limit_value());
  if (q.selected()) {
    auto* sel = out.mutable_select();
    for (const auto& f : *q.selected()) {
      auto path = field_ref(f);
      if (!path) return std::move(path).error();
      sel->add_fields()->set_field_path(*path);
    }
  }
  return ok();
}

}  // namespace connpool::firestore::detail
