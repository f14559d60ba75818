#include "connpool/service/version.hpp"

namespace connpool {

// CONNPOOL_VERSION comes from project(connpool VERSION ...) in the root CMakeLists.txt.
std::string_view version() noexcept {
  return CONNPOOL_VERSION;
}

}  // namespace connpool
