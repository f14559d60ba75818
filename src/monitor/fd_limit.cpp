#include "connpool/monitor/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

namespace connpool::monitor {
namespace {

// Linux refuses a NOFILE limit above fs.nr_open (even with an unlimited hard limit).
rlim_t kernel_ceiling() {
  std::ifstream in("/proc/sys/fs/nr_open");
  unsigned long long n = 0;
  if (in >> n && n > 0) return static_cast<rlim_t>(n);
  return 1048576;
}

std::uint64_t as_u64(rlim_t v) {
  return v == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max()
                            : static_cast<std::uint64_t>(v);
}

}  // namespace

std::string FdLimitChange::to_string() const {
  if (raised()) {
    return "file descriptor limit raised from " + std::to_string(soft_before) + " to " +
           std::to_string(soft_after);
  }
  return "file descriptor limit already at " + std::to_string(soft_after);
}

Result<FdLimitChange> raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return fail(errc::io_error, std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  FdLimitChange change;
  change.soft_before = as_u64(lim.rlim_cur);
  change.hard = as_u64(lim.rlim_max);
  rlim_t target = lim.rlim_max;
  if (target == RLIM_INFINITY) target = kernel_ceiling();
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < target) {
    rlimit raised = lim;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return fail(errc::io_error, "setrlimit(RLIMIT_NOFILE, " + std::to_string(target) +
                                      "): " + std::strerror(errno));
    }
    lim.rlim_cur = target;
  }
  change.soft_after = as_u64(lim.rlim_cur);
  return change;
}

}  // namespace connpool::monitor
