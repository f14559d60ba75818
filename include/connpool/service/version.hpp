// The version of the connpool libraries, from the CMake project version (the one
// `connpool --version` prints and the packages carry).
#pragma once

#include <string_view>

namespace connpool {

/// "MAJOR.MINOR.PATCH" of the installed libraries.
[[nodiscard]] std::string_view version() noexcept;

}  // namespace connpool
