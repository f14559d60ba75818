// Runs the connpool binary with a controlled environment and captures its output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace connpool::test {

struct RunResult {
  int exit_code = -1;  ///< -1 when it did not exit normally (signal, timeout)
  std::string out;
  std::string err;
};

/// Runs CONNPOOL_BIN with `args`. The environment holds only PATH, HOME and `env` (whose PATH
/// or HOME, if given, replace the test's), so the
/// developer's own REDIS_URL or CONNPOOL_* never leak into a test. Killed after `timeout`.
RunResult run_connpool(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {},
                       std::chrono::seconds timeout = std::chrono::seconds(30));

/// As run_connpool() for any program (the examples).
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {},
                      std::chrono::seconds timeout = std::chrono::seconds(30));

/// Blocking HTTP GET on loopback; the whole response, headers included ("" when nothing answers).
std::string http_get(std::uint16_t port, const std::string& path);

/// The body of an HTTP response ("" when there is none).
std::string http_body(const std::string& response);

/// A `connpool` child (e.g. `serve`) that runs until signalled, in its own process group, with
/// only PATH and `env` in its environment; stdout and stderr go to a log file. The destructor
/// SIGKILLs the group if it is still running.
class ServeChild {
 public:
  ServeChild(const std::vector<std::string>& args, const std::vector<std::string>& env);
  /// As above for any program (an example that serves until signalled).
  ServeChild(const std::string& program, const std::vector<std::string>& args,
             const std::vector<std::string>& env);
  ~ServeChild();
  ServeChild(const ServeChild&) = delete;
  ServeChild& operator=(const ServeChild&) = delete;
  void signal(int sig);
  /// Exit code, or -1 if it had not exited within `limit` (or died by a signal).
  int wait_exit(std::chrono::seconds limit);
  /// Everything it printed so far.
  [[nodiscard]] std::string output() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

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
