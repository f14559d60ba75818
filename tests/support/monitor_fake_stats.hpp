// A hand-made stats source for monitoring tests: a PoolStats the test edits, read by the
// registries through PoolSource::stats like a real pool's.
#pragma once

#include "connpool/core/pool_config.hpp"
#include "connpool/core/stats.hpp"
#include "connpool/monitor/pool_registry.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace connpool::test {

class FakeStats {
 public:
  /// Thread-safe: the admin server reads while the test writes.
  template <class F>
  void update(F&& edit) {
    std::lock_guard lock(mutex_);
    std::forward<F>(edit)(stats_);
  }
  core::PoolStats get() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  mutable std::mutex mutex_;
  core::PoolStats stats_;
};

/// A PoolSource reading `stats`; `stats` must outlive the registration.
inline monitor::PoolSource fake_source(std::string name, std::string backend,
                                       std::shared_ptr<FakeStats> stats,
                                       core::PoolConfig config = {}) {
  monitor::PoolSource s;
  s.name = std::move(name);
  s.backend = std::move(backend);
  s.stats = [stats] { return stats->get(); };
  s.config = [config] { return config; };
  return s;
}

}  // namespace connpool::test
