// Running Prometheus's command-line tools from tests: `promtool check metrics` on an exposition,
// `promtool check config` on a file, and the shell helper both use. Header-only, so any test
// binary can use it without linking another library (the monitor tests link only their own).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace connpool::test {

struct CommandResult {
  int status = -1;     ///< exit code; -1 when it could not run or was killed
  std::string output;  ///< stdout and stderr, interleaved
};

/// Runs `command` with /bin/sh, stderr merged into stdout.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) r.output += buf;
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// True when `program` is on PATH.
inline bool have_program(const std::string& program) {
  return run_command("command -v '" + program + "'").status == 0;
}

/// What the assertion says when promtool or prometheus is missing.
inline constexpr const char* kInstallPrometheus =
    "scripts/install-deps.sh installs Debian's 'prometheus' package (prometheus and promtool)";

/// `promtool check config FILE`.
inline CommandResult promtool_check_config(const std::string& path) {
  return run_command("promtool check config '" + path + "'");
}

/// `promtool check metrics` on `exposition` (the text of a /metrics page). Status 0 and empty
/// output mean no problem and no lint warning.
inline CommandResult promtool_check_metrics(const std::string& exposition) {
  std::string dir = (std::filesystem::temp_directory_path() / "connpool-promtool-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return {-1, "mkdtemp failed"};
  const std::string file = dir + "/metrics.txt";
  std::ofstream(file) << exposition;
  auto r = run_command("promtool check metrics < '" + file + "'");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

}  // namespace connpool::test
