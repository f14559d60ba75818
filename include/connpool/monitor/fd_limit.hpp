// Raising the process's file-descriptor limit at service start. The soft RLIMIT_NOFILE is often
// 1024 while the hard limit is far higher; a pool service with many connections plus the admin
// server's sockets should not fail with EMFILE at a limit it was allowed to raise.
#pragma once

#include "connpool/core/result.hpp"

#include <cstdint>
#include <string>

namespace connpool::monitor {

/// What raise_fd_limit() did.
struct FdLimitChange {
  std::uint64_t soft_before = 0;  ///< soft limit found
  std::uint64_t soft_after = 0;   ///< soft limit now in force
  std::uint64_t hard = 0;         ///< hard limit (the ceiling); UINT64_MAX for unlimited
  [[nodiscard]] bool raised() const noexcept { return soft_after > soft_before; }
  /// "file descriptor limit raised from 1024 to 1048576" or "... already at 1048576".
  [[nodiscard]] std::string to_string() const;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (when the hard limit is unlimited, to the
/// kernel's per-process ceiling, /proc/sys/fs/nr_open, or 1048576 when unreadable). Never
/// lowers it; idempotent. Call once at service start, before opening pools. Errors: io_error
/// when getrlimit/setrlimit fail (the limit is then unchanged; the service can go on).
Result<FdLimitChange> raise_fd_limit();

}  // namespace connpool::monitor
