// libFuzzer: arbitrary bytes as a Firestore Document / RunQueryResponse from the wire
// (src/firestore/wire_document.cpp, which reads the server's replies) must not crash, hang or
// overflow the stack, and a document must read the same whether alone or wrapped in a
// RunQueryResponse (field 1). Agreement with protobuf itself is the unit tests' job
// (tests/unit/firestore/wire_document_test.cpp), which link protobuf.
#include "wire_document.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = connpool::firestore::detail;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  d::WireRunQueryResponse as_reply;
  (void)d::parse_run_query_response(bytes, as_reply);

  connpool::firestore::Document alone;
  const bool ok = d::parse_document(bytes, alone);
  // The same bytes as a RunQueryResponse's document: tag 1, length-delimited, a varint length.
  std::string wrapped(1, '\x0a');
  for (std::size_t n = size;; n >>= 7) {
    wrapped += static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    if (n <= 0x7f) break;
  }
  wrapped.append(bytes);
  d::WireRunQueryResponse reply;
  if (d::parse_run_query_response(wrapped, reply) != ok) std::abort();
  if (ok && (!reply.document || !(*reply.document == alone))) std::abort();
  return 0;
}
