// libFuzzer: the Redis URL parser must reject or accept any text without crashing, and a
// password it parsed must never leak into redacted() or an error message.
#include "connpool/redis/url.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto url = connpool::redis::RedisUrl::parse(text);
  if (url) {
    // The password's place in the URL must be masked: ":<password>@" never appears, and a
    // URL with a password always shows the mask. (The password's text may still occur by
    // coincidence elsewhere, e.g. inside the scheme or host.)
    const std::string shown = url->redacted();
    if (!url->password.empty() && url->password.find("***") == std::string::npos) {
      if (shown.find(":" + url->password + "@") != std::string::npos) std::abort();
      if (shown.find("***") == std::string::npos) std::abort();
    }
    (void)url->endpoint();
  } else {
    (void)url.error().to_string();
  }
  return 0;
}
