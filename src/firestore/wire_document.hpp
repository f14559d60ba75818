// Private: Firestore's Document read straight from the protobuf wire format into connpool's
// Document, for the hot read paths (run_query, get_document).
//
// Why: the generic path parsed every message into protobuf objects (a protobuf Map per
// document, a Value message per field, UTF-8 checks) and then copied all of it into our
// Document (document_from_proto). For a 10-document query that was ~110k + ~46k of its ~356k
// instructions (callgrind, issue 19). Here the bytes become our types in one pass.
//
// Same result as ParseFromString + document_from_proto for every well-formed message
// (tests/firestore/wire_document_test.cpp checks it field type by field type and on nested
// values): unknown fields are skipped, a repeated singular field's last value wins, a repeated
// message field is merged, a field with an unexpected wire type is skipped as protobuf skips
// it, strings must be valid UTF-8 (proto3), nesting is limited to protobuf's default depth.
// Unlike protobuf, the fields we do not use (a RunQueryResponse's transaction, read_time, ...)
// are skipped without being checked. No gRPC here (the fuzz target builds it alone); gRPC's
// side is wire_serialization.hpp.
#pragma once

#include "connpool/firestore/value.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace connpool::firestore::detail {

/// Parses the bytes of a google.firestore.v1.Document into `out` (merged into what `out`
/// holds, as protobuf merges). False: malformed, or a string is not valid UTF-8.
bool parse_document(std::string_view bytes, Document& out);

/// The part of a google.firestore.v1.RunQueryResponse that run_query uses.
struct WireRunQueryResponse {
  std::optional<Document> document;  // empty for a progress-only message
};
bool parse_run_query_response(std::string_view bytes, WireRunQueryResponse& out);

/// The part of a google.firestore.v1.BatchGetDocumentsResponse that batched gets use: the document
/// found, or the name of the one missing (neither: a message that carries neither).
struct WireBatchGetResponse {
  std::optional<Document> found;
  std::optional<std::string> missing;
};
bool parse_batch_get_response(std::string_view bytes, WireBatchGetResponse& out);

/// A GetDocument reply (a google.firestore.v1.Document).
struct WireDocument {
  Document document;
};

}  // namespace connpool::firestore::detail
