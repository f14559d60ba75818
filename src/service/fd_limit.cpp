#include "connpool/service/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace connpool::service {

Result<FdLimit> raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Error(errc::io_error, std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  FdLimit out;
  out.soft_before = limit.rlim_cur;
  out.hard = limit.rlim_max;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return Error(errc::io_error, "setrlimit(RLIMIT_NOFILE, " + std::to_string(limit.rlim_max) +
                                       "): " + std::strerror(errno));
    }
  }
  out.soft = limit.rlim_max;
  return out;
}

}  // namespace connpool::service
