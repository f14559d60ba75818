// Runs a helper program (redis-benchmark, gnuplot) for `connpool bench redis --sweep` and reports
// what it printed and the CPU time it used: wait4's rusage is the only way to charge a child's
// CPU to the child alone, and client CPU per operation is one of the numbers the sweep compares.
#pragma once

#include "connpool/core/result.hpp"

#include <string>
#include <vector>

namespace connpool::cli {

/// What one finished child process did.
struct ProcessRun {
  int exit_code = -1;       // -1 when it was killed by a signal
  std::string output;       // stdout and stderr, interleaved
  double cpu_seconds = 0;   // user + system time of the child (wait4)
  double wall_seconds = 0;  // from spawn to exit
};

/// Starts argv[0] (looked up on PATH) with `argv`, waits for it and collects its output.
/// errc::not_found (naming the program) when it cannot be started.
Result<ProcessRun> run_process(const std::vector<std::string>& argv);

}  // namespace connpool::cli
