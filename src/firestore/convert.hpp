// Private: conversions between connpool's public types and the Firestore v1 protos. Includes only
// the message headers (document, query, write), not the service header.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/firestore/query.hpp"
#include "connpool/firestore/value.hpp"
#include "connpool/firestore/write.hpp"

#include "google/firestore/v1/document.pb.h"
#include "google/firestore/v1/query.pb.h"
#include "google/firestore/v1/write.pb.h"

#include <string>
#include <string_view>
#include <vector>

namespace connpool::firestore::detail {

namespace v1 = ::google::firestore::v1;

/// Fails (invalid_argument) on values the server would reject: invalid UTF-8 in strings and
/// map keys, nanos out of range, a reference that is not a document resource name.
Result<void> to_proto(const Value& in, v1::Value& out, std::string_view where);
Value from_proto(const v1::Value& in);
Result<void> fields_to_proto(const Map& in, google::protobuf::Map<std::string, v1::Value>& out,
                             std::string_view where);
Map fields_from_proto(const google::protobuf::Map<std::string, v1::Value>& in);
Document document_from_proto(const v1::Document& in);
Timestamp timestamp_from_proto(const google::protobuf::Timestamp& t);
void timestamp_to_proto(const Timestamp& in, google::protobuf::Timestamp& out);

/// Builds the Write for `w`; `root` is "projects/P/databases/D/documents".
Result<void> write_to_proto(const Write& w, std::string_view root, v1::Write& out);

/// Builds the structured query and the parent resource name. With limit_to_last the order and
/// cursors are reversed (the caller reverses the results).
Result<void> query_to_proto(const Query& q, std::string_view root, v1::StructuredQuery& out,
                            std::string& parent);

/// "collection/id" -> "projects/P/databases/D/documents/collection/id", after validation.
Result<std::string> document_name(std::string_view root, std::string_view path);

}  // namespace connpool::firestore::detail
