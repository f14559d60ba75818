#include "connpool/core/stats.hpp"

#include <numeric>

namespace connpool::core {

std::string_view to_string(CloseReason r) noexcept {
  switch (r) {
    case CloseReason::idle:
      return "idle";
    case CloseReason::lifetime:
      return "lifetime";
    case CloseReason::broken:
      return "broken";
    case CloseReason::health_check:
      return "health_check";
    case CloseReason::closed:
      return "closed";
    case CloseReason::detached:
      return "detached";
    case CloseReason::shrink:
      return "shrink";
    case CloseReason::retired:
      return "retired";
  }
  return "unknown";
}

std::string_view to_string(ConnectionInfo::State s) noexcept {
  switch (s) {
    case ConnectionInfo::State::idle:
      return "idle";
    case ConnectionInfo::State::in_use:
      return "in_use";
    case ConnectionInfo::State::checking:
      return "checking";
    case ConnectionInfo::State::draining:
      return "draining";
  }
  return "unknown";
}

std::uint64_t PoolStats::closed_total() const noexcept {
  return std::accumulate(closed_by_reason.begin(), closed_by_reason.end(), std::uint64_t{0});
}

}  // namespace connpool::core
