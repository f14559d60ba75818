// Bookkeeping for the soak run: per-backend counters (ops, errors by type, live coroutines,
// recovery after each restart) and process measurements (RSS, open file descriptors).
#pragma once

#include "connpool/core/error.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace connpool::soak {

using Clock = std::chrono::steady_clock;
inline constexpr std::size_t kCodes = static_cast<std::size_t>(errc::unknown) + 1;

/// Counters of one backend's load. Updated from the load coroutines, read by the main thread.
struct BackendStats {
  explicit BackendStats(std::string n) : name(std::move(n)) {}
  std::string name;
  std::atomic<std::uint64_t> ok{0};
  std::array<std::atomic<std::uint64_t>, kCodes> errors{};
  std::atomic<int> live_coroutines{0};

  // Recovery: set when a restart completes; the first success afterwards records the delay.
  std::mutex mu;
  bool awaiting = false;
  Clock::time_point restarted_at;
  std::vector<double> recoveries_ms;

  void succeeded() {
    ++ok;
    std::lock_guard lock(mu);
    if (awaiting) {
      awaiting = false;
      recoveries_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - restarted_at).count());
    }
  }
  void failed(const Error& e) { ++errors[static_cast<std::size_t>(e.code())]; }
  void restarted() {
    std::lock_guard lock(mu);
    awaiting = true;
    restarted_at = Clock::now();
  }
  std::uint64_t error_total() const {
    std::uint64_t n = 0;
    for (const auto& e : errors) n += e.load();
    return n;
  }
  /// "timeout=3 io_error=12" (only codes seen).
  std::string errors_text() const {
    std::string out;
    for (std::size_t i = 0; i < kCodes; ++i) {
      if (const auto n = errors[i].load(); n > 0) {
        if (!out.empty()) out += ' ';
        out += std::string(to_string(static_cast<errc>(i))) + "=" + std::to_string(n);
      }
    }
    return out.empty() ? "none" : out;
  }
};

/// A coroutine holds one for its whole body: live_coroutines back at 0 proves none hung.
struct LiveGuard {
  explicit LiveGuard(BackendStats& s) : s_(s) { ++s_.live_coroutines; }
  ~LiveGuard() { --s_.live_coroutines; }
  LiveGuard(const LiveGuard&) = delete;
  LiveGuard& operator=(const LiveGuard&) = delete;
  BackendStats& s_;
};

/// Resident set size of this process in KiB (VmRSS).
inline std::size_t rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

inline std::size_t open_fds() {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace connpool::soak
