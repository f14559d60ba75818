// Starts Google's Firestore emulator (shipped with the gcloud SDK) for integration tests.
//
// The emulator's wrapper script leaves its java child running when only the script is killed,
// so the emulator runs in its own process group and every stop kills the whole group. A guard
// also kills the group if the test process aborts or is interrupted, so no emulator outlives
// its tests.
//
// Thread safety: one owner; host()/port() may be read from any thread.
#pragma once

#include "connpool/core/result.hpp"

#include <sys/types.h>

#include <memory>
#include <string>

namespace connpool::testing {

class FirestoreEmulator {
 public:
  /// Starts on `port` (0: a free loopback port) and waits until it serves (up to 90 s).
  /// The SDK root comes from CONNPOOL_GCLOUD_SDK_ROOT, else `gcloud info`.
  static Result<std::unique_ptr<FirestoreEmulator>> start(int port = 0);

  ~FirestoreEmulator();
  FirestoreEmulator(const FirestoreEmulator&) = delete;
  FirestoreEmulator& operator=(const FirestoreEmulator&) = delete;

  /// "127.0.0.1:PORT", the value for FIRESTORE_EMULATOR_HOST.
  [[nodiscard]] std::string host() const;
  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] bool running() const noexcept { return pgid_ > 0; }

  /// Kills the process group (SIGKILL: a crash, not a graceful stop) and waits for it.
  void kill();
  /// Starts again on the same port after kill().
  Result<void> restart();
  /// Deletes every document of `project`'s default database (the emulator's reset endpoint).
  Result<void> reset(const std::string& project) const;

  /// The emulator shared by all tests of one binary, started on first use; killed at exit.
  /// Returns nullptr (and prints why) when it cannot start.
  static FirestoreEmulator* shared();

 private:
  FirestoreEmulator() = default;
  Result<void> launch();

  int port_ = 0;
  pid_t pgid_ = -1;
  std::string log_path_;
  std::string script_;
};

}  // namespace connpool::testing
