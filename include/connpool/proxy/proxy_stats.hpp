// ProxyStats: a snapshot of a proxy's counters (for metrics, the admin JSON and tests).
#pragma once

#include "connpool/monitor/latency_histogram.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace connpool::proxy {

struct ProxyStats {
  std::uint64_t clients_connected = 0;    ///< now
  std::uint64_t clients_pinned = 0;       ///< now: holding an exclusive lease
  std::uint64_t clients_subscribed = 0;   ///< now: in subscriber mode
  std::uint64_t clients_total = 0;        ///< accepted since start
  std::uint64_t clients_rejected = 0;     ///< refused at accept (max_clients)
  std::uint64_t clients_overflowed = 0;   ///< disconnected for not reading (max_output_bytes)
  std::uint64_t clients_idle_closed = 0;  ///< disconnected by idle_timeout
  std::uint64_t commands_ok = 0;          ///< forwarded, answered with a non-error reply
  std::uint64_t commands_error = 0;       ///< forwarded, answered with an error reply
  std::uint64_t commands_failed = 0;      ///< not answered upstream (pool or connection failure)
  std::uint64_t commands_local = 0;       ///< answered by the proxy (AUTH, HELLO, QUIT, ...)
  std::map<std::string, std::uint64_t> refused_by_rule;
  /// Latency of forwarded commands, from the request's arrival to its reply (a batch's
  /// commands share their batch's time).
  monitor::HistogramSnapshot latency;
};

}  // namespace connpool::proxy
