// RedisServer: starts a private redis-server for integration tests and always stops it.
//
// Each instance gets a temp directory, a free loopback port and a config file
// (`--save '' --appendonly no` semantics), optionally with requirepass, an ACL user, TLS
// (certificates generated with openssl into the temp dir) and a Unix socket. The destructor
// kills the process (SIGTERM, then SIGKILL) and removes the directory, so a failing test
// never leaves a server behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace connpool::test {

struct RedisServerOptions {
  std::string requirepass;   ///< non-empty: `requirepass` for the default user
  std::string acl_user;      ///< non-empty: an ACL user with all permissions...
  std::string acl_password;  ///< ...and this password
  bool tls = false;          ///< TLS only: the plain port is disabled
  bool tls_require_client_cert = false;
  bool unix_socket = false;               ///< also listen on <dir>/redis.sock
  std::vector<std::string> extra_config;  ///< raw config lines
};

class RedisServer {
 public:
  /// Starts the server and waits until it accepts connections. Null (with a message in
  /// `error`) when it cannot start.
  static std::unique_ptr<RedisServer> start(RedisServerOptions options, std::string* error);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  /// redis://[user:pass@]127.0.0.1:port or rediss://... with tls_ca_file; `query` appended.
  [[nodiscard]] std::string url(const std::string& query = "") const;
  [[nodiscard]] std::string socket_path() const { return dir_ + "/redis.sock"; }
  [[nodiscard]] std::string ca_file() const { return dir_ + "/ca.crt"; }
  /// A CA that did not sign the server's certificate (for verify-failure tests).
  [[nodiscard]] std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }
  [[nodiscard]] std::string client_cert_file() const { return dir_ + "/client.crt"; }
  [[nodiscard]] std::string client_key_file() const { return dir_ + "/client.key"; }

  /// Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
  void stop();
  /// Kills the server with SIGKILL (no goodbye to its clients, as a crash or an OOM kill) and
  /// waits for it. restart() brings it back on the same port.
  void kill_hard();
  /// Starts it again on the same port; false if it does not come up.
  bool restart(std::string* error);
  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }

 private:
  RedisServer() = default;
  bool launch(std::string* error);

  RedisServerOptions options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// A free TCP port on 127.0.0.1 (bound then released; good enough for tests).
std::uint16_t free_loopback_port();

}  // namespace connpool::test
