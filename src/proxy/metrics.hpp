// The proxy's live counters (atomics, updated from any client strand) and their snapshot.
#pragma once

#include "connpool/monitor/latency_histogram.hpp"
#include "connpool/proxy/proxy_stats.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace connpool::proxy {

struct Metrics {
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> pinned{0};
  std::atomic<std::uint64_t> subscribed{0};
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> overflowed{0};
  std::atomic<std::uint64_t> idle_closed{0};
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> error{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> local{0};
  monitor::LatencyHistogram latency;

  void refuse(std::string_view rule) {
    std::lock_guard lock(refused_mutex_);
    ++refused_[std::string(rule)];
  }

  [[nodiscard]] ProxyStats snapshot() const {
    ProxyStats s;
    s.clients_connected = connected.load();
    s.clients_pinned = pinned.load();
    s.clients_subscribed = subscribed.load();
    s.clients_total = total.load();
    s.clients_rejected = rejected.load();
    s.clients_overflowed = overflowed.load();
    s.clients_idle_closed = idle_closed.load();
    s.commands_ok = ok.load();
    s.commands_error = error.load();
    s.commands_failed = failed.load();
    s.commands_local = local.load();
    {
      std::lock_guard lock(refused_mutex_);
      s.refused_by_rule = refused_;
    }
    s.latency = latency.snapshot();
    return s;
  }

 private:
  mutable std::mutex refused_mutex_;
  std::map<std::string, std::uint64_t> refused_;
};

}  // namespace connpool::proxy
