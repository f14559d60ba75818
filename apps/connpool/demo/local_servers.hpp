// Local servers for `connpool demo`: a redis-server and the Google Firestore emulator on free
// loopback ports, each in its own process group, stopped (whole group) when the handle goes.
#pragma once

#include "connpool/core/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace connpool::cli {

class LocalServer {
 public:
  LocalServer() = default;
  LocalServer(LocalServer&& other) noexcept;
  LocalServer& operator=(LocalServer&& other) noexcept;
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  /// Stops the server's whole process group (SIGTERM, then SIGKILL after 5 s) and removes its
  /// temporary directory.
  ~LocalServer();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
  /// redis-server's random password (requirepass); empty for the emulator.
  [[nodiscard]] const std::string& password() const noexcept { return password_; }
  void stop() noexcept;

  /// redis-server from PATH with no persistence and a random password, in a 0700 temporary
  /// directory that is removed with the handle, or at once when the server fails to start.
  static Result<LocalServer> start_redis();
  /// The Firestore emulator of the gcloud SDK installed on the machine; waits (up to 90 s) until
  /// it says "Dev App Server is now running".
  static Result<LocalServer> start_firestore_emulator();

 private:
  std::string name_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string dir_;
  std::string password_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
Result<std::uint16_t> free_loopback_port();

}  // namespace connpool::cli
