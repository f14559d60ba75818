// Leases: the RAII handle to a pooled connection.
#pragma once

#include "connpool/core/detail/pool_engine.hpp"

#include <cstdint>
#include <memory>
#include <utility>

namespace connpool::core {

namespace detail {
class Engine;
}

/// An untyped lease; Lease<Conn> is the typed face users see.
///
/// Move-only. Destroying it returns the connection to its pool: noexcept, no I/O, never blocks.
/// A lease may outlive the Pool object that issued it: the pool's internals stay alive until the
/// last lease is returned, and the connection is closed when it comes back to a closed pool.
class RawLease {
 public:
  RawLease() = default;
  RawLease(detail::PoolEngine* engine, detail::Slot* slot, std::uint64_t token) noexcept
      : engine_(engine), slot_(slot), token_(token) {}
  RawLease(RawLease&& o) noexcept
      : engine_(std::exchange(o.engine_, nullptr)),
        slot_(std::exchange(o.slot_, nullptr)),
        token_(o.token_),
        call_failed_(std::exchange(o.call_failed_, false)) {}
  RawLease& operator=(RawLease&& o) noexcept {
    if (this != &o) {
      reset();
      engine_ = std::exchange(o.engine_, nullptr);
      slot_ = std::exchange(o.slot_, nullptr);
      token_ = o.token_;
      call_failed_ = std::exchange(o.call_failed_, false);
    }
    return *this;
  }
  RawLease(const RawLease&) = delete;
  RawLease& operator=(const RawLease&) = delete;
  ~RawLease() { reset(); }

  [[nodiscard]] bool valid() const noexcept { return slot_ != nullptr; }
  [[nodiscard]] void* connection() const noexcept {
    return slot_ ? detail::PoolEngine::connection_of(slot_) : nullptr;
  }

  /// Returns the connection now (same as destroying the lease).
  void reset() noexcept { finish(false); }
  /// The connection is broken: it is closed (after its other leases, if shared) and replaced in
  /// the background. The lease becomes empty.
  void discard() noexcept { finish(true); }
  /// The call made with this lease failed because of the backend (a timeout, "unavailable"),
  /// but the connection stays usable: on return the circuit breaker counts a failed call
  /// instead of a success, and the connection goes back to the pool.
  void report_failure() noexcept { call_failed_ = true; }
  /// Marks a shared connection broken without giving up this lease.
  void mark_broken() noexcept {
    if (slot_) engine_->mark_broken(slot_);
  }
  /// Takes the connection out of the pool; the pool forgets it and may open a replacement.
  /// Empty when other leases still share the connection.
  detail::OwnedConnection detach() noexcept {
    if (!slot_) return {};
    auto owned = engine_->detach(slot_, token_);
    if (owned) {
      slot_ = nullptr;
      engine_ = nullptr;
    }
    return owned;
  }

 private:
  friend class detail::Engine;
  void finish(bool broken) noexcept {
    if (slot_) {
      // release() may destroy the engine (the last lease of a closed pool): nothing after it
      // touches engine_.
      std::exchange(engine_, nullptr)
          ->release(std::exchange(slot_, nullptr), token_, broken,
                    std::exchange(call_failed_, false));
    }
  }
  // Not a shared_ptr: the engine keeps itself alive while leases are out (it pins itself when
  // its pool closes with leases outstanding, detail/pool_engine.hpp), so a lease costs no
  // atomic reference count on the acquire/release hot path.
  detail::PoolEngine* engine_ = nullptr;
  detail::Slot* slot_ = nullptr;
  std::uint64_t token_ = 0;
  bool call_failed_ = false;
};

/// A leased connection of type Conn. See RawLease for ownership rules.
///
/// Thread safety: a lease is used by one task at a time; with max_leases_per_connection > 1
/// several leases point at one connection, which must then be safe for concurrent use.
template <class Conn>
class Lease {
 public:
  Lease() = default;
  explicit Lease(RawLease raw) noexcept : raw_(std::move(raw)) {}

  [[nodiscard]] explicit operator bool() const noexcept { return raw_.valid(); }
  [[nodiscard]] Conn* get() const noexcept { return static_cast<Conn*>(raw_.connection()); }
  Conn* operator->() const noexcept { return get(); }
  Conn& operator*() const noexcept { return *get(); }

  /// Returns the connection to the pool now.
  void release() noexcept { raw_.reset(); }
  /// Closes the connection as broken; the pool replaces it.
  void discard() noexcept { raw_.discard(); }
  /// The call failed because of the backend but the connection is fine: the circuit breaker
  /// counts a failure when the lease returns (see RawLease::report_failure()).
  void report_failure() noexcept { raw_.report_failure(); }
  /// Marks a shared connection broken (no new leases) while keeping this one.
  void mark_broken() noexcept { raw_.mark_broken(); }
  /// Takes the connection out of the pool. Null when other leases share it (the lease is kept).
  std::unique_ptr<Conn> detach() noexcept {
    auto owned = raw_.detach();
    return std::unique_ptr<Conn>(static_cast<Conn*>(owned.release()));
  }

 private:
  RawLease raw_;
};

}  // namespace connpool::core
