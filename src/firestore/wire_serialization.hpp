// Private: gRPC's (de)serialization of the wire-format reply types (wire_document.hpp), so that
// a call started with them hands the reply's bytes to our parser instead of protobuf's.
#pragma once

#include "wire_document.hpp"

#include <grpcpp/impl/serialization_traits.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/status.h>

#include <string_view>

namespace connpool::firestore::detail {

/// The reply's bytes (one slice, or flattened into one) handed to `parse`; the buffer is emptied,
/// as protobuf's deserializer empties it.
inline grpc::Status deserialize_wire(grpc::ByteBuffer* buffer,
                                     bool (*parse)(std::string_view, void*), void* out) {
  if (buffer == nullptr) return {grpc::StatusCode::INTERNAL, "No payload"};
  // A reply usually arrives as one slice; otherwise (or compressed) gRPC flattens it.
  grpc::Slice slice;
  if (!buffer->TrySingleSlice(&slice).ok()) {
    if (auto s = buffer->DumpToSingleSlice(&slice); !s.ok()) return s;
  }
  const bool ok =
      parse(std::string_view(reinterpret_cast<const char*>(slice.begin()), slice.size()), out);
  buffer->Clear();
  if (!ok) return {grpc::StatusCode::INTERNAL, "Message could not be parsed"};
  return grpc::Status::OK;
}

/// gRPC's Deserialize for a reply type `T` read by `Parse` (a SerializationTraits base).
template <class T, bool (*Parse)(std::string_view, T&)>
struct WireTraits {
  static grpc::Status Deserialize(grpc::ByteBuffer* buffer, T* msg) {
    return deserialize_wire(
        buffer, [](std::string_view b, void* o) { return Parse(b, *static_cast<T*>(o)); }, msg);
  }
};

}  // namespace connpool::firestore::detail

namespace grpc {

// Receive-only: these types are never sent, so Serialize is not defined.
template <>
class SerializationTraits<connpool::firestore::detail::WireRunQueryResponse, void>
    : public connpool::firestore::detail::WireTraits<
          connpool::firestore::detail::WireRunQueryResponse,
          connpool::firestore::detail::parse_run_query_response> {};

template <>
class SerializationTraits<connpool::firestore::detail::WireBatchGetResponse, void>
    : public connpool::firestore::detail::WireTraits<
          connpool::firestore::detail::WireBatchGetResponse,
          connpool::firestore::detail::parse_batch_get_response> {};

template <>
class SerializationTraits<connpool::firestore::detail::WireDocument, void> {
 public:
  static Status Deserialize(ByteBuffer* buffer, connpool::firestore::detail::WireDocument* msg) {
    return connpool::firestore::detail::deserialize_wire(
        buffer,
        [](std::string_view b, void* o) {
          auto* d = static_cast<connpool::firestore::detail::WireDocument*>(o);
          d->document = {};
          return connpool::firestore::detail::parse_document(b, d->document);
        },
        msg);
  }
};

}  // namespace grpc
