// libFuzzer: arbitrary bytes from a "server" go through hiredis's reader and our Reply
// conversion, fed in two chunks; it must yield replies or a protocol error, never crash.
#include "resp.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  connpool::redis::detail::RespReader reader;
  const std::size_t half = size / 2;
  const char* bytes = reinterpret_cast<const char*>(data);
  for (auto [from, len] : {std::pair{std::size_t{0}, half}, std::pair{half, size - half}}) {
    if (!reader.feed(bytes + from, len)) return 0;
    for (int i = 0; i < 1000; ++i) {
      auto next = reader.next();
      if (!next || !next->has_value()) break;
      (void)connpool::redis::to_string((*next)->type());
    }
  }
  return 0;
}
