// File descriptors: every pool connection, admin client and gRPC channel is one, and the usual
// soft RLIMIT_NOFILE (1024) is far below what the hard limit allows. Runtime::start() raises it.
#pragma once

#include "connpool/core/result.hpp"

#include <cstdint>

namespace connpool::service {

struct FdLimit {
  std::uint64_t soft_before = 0;
  std::uint64_t soft = 0;  ///< the soft limit now
  std::uint64_t hard = 0;
};

/// Raises the process's soft RLIMIT_NOFILE to its hard limit (no privilege needed). Errors
/// (errc::io_error) when getrlimit/setrlimit fail; the limits are unchanged then.
Result<FdLimit> raise_fd_limit();

}  // namespace connpool::service
