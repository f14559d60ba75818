// What the Redis test harnesses (single server, cluster, sentinel) share: starting a
// redis-server process that dies with the test, and probing loopback ports.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace connpool::test {

/// Forks `redis-server <conf> [--sentinel]` with stdio on /dev/null; the child gets SIGKILL if
/// the test process dies first. The child's pid, or -1 when fork failed.
pid_t spawn_redis_server(const std::string& conf, bool sentinel = false);

/// A TCP socket connected to 127.0.0.1:port (the caller closes it), or -1.
int loopback_connect(std::uint16_t port);

/// Something accepts TCP connections on 127.0.0.1:port.
bool loopback_accepts(std::uint16_t port);

/// Something accepts connections on the unix socket at `path`.
bool unix_socket_accepts(const std::string& path);

/// 127.0.0.1:port can be bound right now.
bool loopback_can_bind(std::uint16_t port);

}  // namespace connpool::test
