// ChildProcess: a program started by an operator test (the serve process, Prometheus, Node),
// with stdout and stderr going to a log file, always stopped by the destructor (SIGTERM, then
// SIGKILL), and every wait bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace connpool::test {

class ChildProcess {
 public:
  /// Starts argv[0] (a path, or a name looked up in PATH) with the current environment minus
  /// the variables named in `unset` (a trailing '*' matches a prefix), plus `env`. Output goes to
  /// `log_path`. Null (with `error`) when it cannot start.
  static std::unique_ptr<ChildProcess> start(const std::vector<std::string>& argv,
                                             const std::map<std::string, std::string>& env,
                                             const std::string& log_path, std::string* error,
                                             const std::vector<std::string>& unset = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// True while it has not exited (reaps it when it has).
  [[nodiscard]] bool running();
  /// Waits up to `timeout` for it to exit; its exit code (128 + signal when killed), or nullopt
  /// when it is still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  /// SIGTERM to its process group, then SIGKILL after `grace`; returns the exit status as
  /// wait_for() does.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) noexcept;
  void signal(int sig) noexcept;
  /// The log so far.
  [[nodiscard]] std::string log() const;
  [[nodiscard]] const std::string& log_path() const noexcept { return log_path_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  std::optional<int> status_;
  bool stopped_ = false;
  std::string log_path_;
};

/// A fresh directory under the system temp dir, removed (recursively) by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// The whole file, or an empty string.
std::string read_file(const std::string& path);

}  // namespace connpool::test
