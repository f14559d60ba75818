// FaultProxy: a TCP proxy on loopback for fault-injection tests (there is no toxiproxy or netem
// on these machines). It forwards to a target and, switchable at run time, adds latency, stalls
// (blackholes) traffic, resets connections, closes them mid-reply, or limits the byte rate.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace connpool::testing {

class FaultProxy {
 public:
  /// Starts listening on 127.0.0.1 (ephemeral port) and forwarding to target_host:target_port,
  /// on a thread of its own.
  FaultProxy(std::string target_host, std::uint16_t target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  [[nodiscard]] std::uint16_t port() const;

  /// Forward normally again (clears latency, stall, rate limit and close-after).
  void pass();
  /// Delay every chunk, in both directions.
  void set_latency(std::chrono::milliseconds latency);
  /// Hold all traffic (connections stay open, nothing moves) until stall(false).
  void stall(bool on);
  /// Hold only server-to-client traffic: requests reach the server (and take effect), replies
  /// wait in the proxy until stall_replies(false). Puts commands deterministically "in flight".
  void stall_replies(bool on);
  /// Limit each direction of each connection to this many bytes per second (0 = no limit).
  void set_rate_limit(std::size_t bytes_per_second);
  /// Close a connection once this many bytes went from server to client (0 = never): a reply
  /// cut off in the middle.
  void close_after_server_bytes(std::size_t bytes);
  /// Reset (RST) every open connection now.
  void reset_all();
  /// Refuse new connections (accept and reset at once) until refuse(false).
  void refuse(bool on);

  [[nodiscard]] std::size_t active_connections() const;
  [[nodiscard]] std::size_t total_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace connpool::testing
