// The `connpool bench redis` workload, shared by the connpool modes and the hiredis baselines so
// every mode does exactly the same work: each caller SETs a key of its own, then GETs it back and
// checks the reply byte for byte.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::cli {

/// Counters shared by every caller of one run.
struct Totals {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> verified{0};  // GETs checked equal to the SET before them
  std::atomic<bool> stop{false};
};

/// What one caller hands back when it stops.
struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;
  std::string first_error;

  /// Counts one failed operation; keeps the first message for the report.
  void fail(Totals& totals, std::string message) {
    totals.errors.fetch_add(1, std::memory_order_relaxed);
    if (first_error.empty()) first_error = std::move(message);
  }

  /// Counts a GET reply against `wrong`, what WorkerLoad::check said about it (empty: right).
  void checked(Totals& totals, std::string wrong) {
    if (wrong.empty()) {
      totals.verified.fetch_add(1, std::memory_order_relaxed);
    } else {
      fail(totals, std::move(wrong));
    }
  }
};

/// The keys and values of one caller. Caller w of C uses keys `bench:key:<i*C + w>`, so no two
/// callers share a key: a GET must return exactly the value this caller SET just before (an
/// overlap between callers would make a wrong reply look right, or a right one look wrong). Each
/// value carries the caller's operation counter, so a stale or constant reply fails the check.
class WorkerLoad {
 public:
  WorkerLoad(std::size_t keyspace, std::size_t value_size, int concurrency, int worker)
      : rng_(static_cast<unsigned>(worker) * 7919u + 1u),
        slice_(std::max<std::size_t>(1, keyspace / static_cast<std::size_t>(concurrency))),
        stride_(static_cast<std::size_t>(concurrency)),
        worker_(static_cast<std::size_t>(worker)),
        value_(value_size, 'v') {}

  /// A random key of this caller's slice; valid until the next call.
  const std::string& next_key() {
    key_ = "bench:key:" + std::to_string((rng_() % slice_) * stride_ + worker_);
    return key_;
  }

  /// The next value to SET: value_size bytes ending in the operation counter (hex, as many
  /// digits as fit; a 0-byte value is only checked for presence). Valid until the next call.
  const std::string& next_value() {
    std::uint64_t n = ++counter_;
    for (std::size_t i = value_.size(); i > 0 && i + 16 > value_.size(); --i) {
      value_[i - 1] = "0123456789abcdef"[n & 0xF];
      n >>= 4;
    }
    return value_;
  }

  /// Empty when `got` is the value last returned by next_value(); otherwise what was wrong.
  [[nodiscard]] std::string check(const std::optional<std::string>& got) const {
    if (!got) return "GET " + key_ + " returned nil right after SET";
    return check_value(*got);
  }
  [[nodiscard]] std::string check_value(std::string_view got) const {
    if (got == value_) return {};
    return "GET " + key_ + " returned a different value (" + std::to_string(got.size()) +
           " bytes) than the SET before it";
  }

 private:
  std::minstd_rand rng_;
  std::size_t slice_;
  std::size_t stride_;
  std::size_t worker_;
  std::string key_;
  std::string value_;
  std::uint64_t counter_ = 0;
};

}  // namespace connpool::cli
