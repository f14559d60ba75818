// PrometheusObserver: the PoolObserver that turns one pool's events into counters and latency
// histograms. MetricsRegistry::make_observer() creates it; pass it in PoolOptions::observer.
#pragma once

#include "connpool/core/observer.hpp"
#include "connpool/core/stats.hpp"
#include "connpool/monitor/latency_histogram.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace connpool::monitor {

/// The `pool` label of the pool named `name`: the name itself, except for a pool serving one
/// node of a multi-node backend (PoolOptions::node not empty), whose name "<pool>@<node>" (or
/// "<pool>@<node>-exclusive") loses its "@<node>" part, the node being a label of its own.
[[nodiscard]] std::string metric_pool_label(std::string_view name, std::string_view node);

/// The event-driven series of one pool (labels `pool`, `backend`, and `node` for a pool serving
/// one node of a cluster). Every event handler is a
/// few relaxed atomic adds: no lock, no allocation, no label lookup, so it is safe and cheap on
/// the pool's acquire and release paths.
///
/// Thread safety: every method may be called concurrently from any thread.
/// Lifetime: shared by the pool (through PoolOptions::observer) and the MetricsRegistry that
/// exports it; either may go first.
class PrometheusObserver final : public core::PoolObserver {
 public:
  /// Counters as plain numbers, for tests and the admin API.
  struct Counters {
    std::uint64_t acquires = 0;
    std::uint64_t releases = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t created = 0;
    std::array<std::uint64_t, core::kCloseReasonCount> closed{};
    std::array<std::uint64_t, core::kErrcCount> errors{};
    std::uint64_t health_checks_ok = 0;
    std::uint64_t health_checks_failed = 0;
    std::uint64_t leaks = 0;
  };

  /// `pool` is the pool's name (PoolOptions::name); `node` its PoolOptions::node.
  PrometheusObserver(std::string pool, std::string backend, std::string node = {});

  void on_acquired(nanoseconds wait) override;
  void on_released(nanoseconds usage) override;
  void on_acquire_timeout(nanoseconds waited) override;
  void on_created(nanoseconds connect_time) override;
  void on_destroyed(core::CloseReason reason) override;
  void on_health_check(bool ok, nanoseconds duration) override;
  void on_error(const Error& error) override;
  void on_leak_detected(nanoseconds held, const std::source_location& where) override;

  [[nodiscard]] const std::string& pool() const noexcept { return pool_; }
  [[nodiscard]] const std::string& backend() const noexcept { return backend_; }
  [[nodiscard]] const std::string& node() const noexcept { return node_; }

  /// Time spent waiting in acquire(), successful acquires only (timeouts are counted apart).
  [[nodiscard]] HistogramSnapshot wait() const { return wait_.snapshot(); }
  /// Time a lease was held.
  [[nodiscard]] HistogramSnapshot usage() const { return usage_.snapshot(); }
  /// Time to open a connection (successful connects).
  [[nodiscard]] HistogramSnapshot connect() const { return connect_.snapshot(); }
  [[nodiscard]] Counters counters() const;

 private:
  using Counter = std::atomic<std::uint64_t>;
  static void bump(Counter& c) noexcept { c.fetch_add(1, std::memory_order_relaxed); }

  const std::string pool_;
  const std::string backend_;
  const std::string node_;
  LatencyHistogram wait_;
  LatencyHistogram usage_;
  LatencyHistogram connect_;
  Counter releases_{0};
  Counter timeouts_{0};
  Counter created_{0};
  std::array<Counter, core::kCloseReasonCount> closed_{};
  std::array<Counter, core::kErrcCount> errors_{};
  Counter health_ok_{0};
  Counter health_failed_{0};
  Counter leaks_{0};
};

}  // namespace connpool::monitor
