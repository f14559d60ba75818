// Measurement helpers shared by `connpool bench redis` and `connpool bench firestore`.
#pragma once

#include <cstdint>
#include <vector>

namespace connpool::cli {

/// User + system CPU time of this process so far, in seconds (getrusage).
double cpu_seconds();

/// The p-quantile (0..1) of `samples`; reorders them (nth_element). 0 when empty.
std::uint32_t percentile(std::vector<std::uint32_t>& samples, double p);

}  // namespace connpool::cli
