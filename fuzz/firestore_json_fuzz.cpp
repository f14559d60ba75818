// libFuzzer: JSON text -> Firestore Value -> JSON -> Value must not crash, and a value that
// parsed must survive the round trip unchanged (lossless conversion).
#include "connpool/firestore/json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = connpool::firestore::parse_json(text);
  if (!json) return 0;
  auto value = connpool::firestore::value_from_json(*json);
  if (!value) return 0;
  namespace fs = connpool::firestore;
  const std::string first = fs::dump(fs::to_json(*value));
  auto reparsed = fs::parse_json(first);
  if (!reparsed) std::abort();  // our own output must parse
  auto again = fs::value_from_json(*reparsed);
  if (!again) std::abort();
  if (fs::dump(fs::to_json(*again)) != first) std::abort();  // not lossless
  return 0;
}
