// Runs the connpool binary with a controlled environment and captures its output.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace connpool::test {

struct RunResult {
  int exit_code = -1;  ///< -1 when it did not exit normally (signal, timeout)
  std::string out;
  std::string err;
};

/// Runs CONNPOOL_BIN with `args`. The environment holds only PATH, HOME and `env`, so the
/// developer's own REDIS_URL or CONNPOOL_* never leak into a test. Killed after `timeout`.
RunResult run_connpool(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {},
                       std::chrono::seconds timeout = std::chrono::seconds(30));

/// As run_connpool() for any program (the examples).
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {},
                      std::chrono::seconds timeout = std::chrono::seconds(30));

/// A file in a fresh temporary directory, removed with it.
class TempConfig {
 public:
  explicit TempConfig(const std::string& yaml);
  ~TempConfig();
  TempConfig(const TempConfig&) = delete;
  TempConfig& operator=(const TempConfig&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace connpool::test
