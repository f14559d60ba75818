#include "bench/support_bench.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstddef>

namespace connpool::cli {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::uint32_t percentile(std::vector<std::uint32_t>& samples, double p) {
  if (samples.empty()) return 0;
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(idx),
                   samples.end());
  return samples[idx];
}

}  // namespace connpool::cli
