// The life of one pooled connection as a single state with explicit transitions. It replaces
// four booleans (in_idle, checking, broken, retiring) whose legal combinations a long invariant
// had to police: here an illegal combination cannot be written down, and a transition the table
// does not allow is a bug the engine reports (check_invariants) instead of silently mixing.
// Not part of the public API; header-only so that the transition table has its own unit test.
#pragma once

#include "connpool/core/stats.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace connpool::core::detail {

enum class SlotState : std::uint8_t {
  unplaced,         ///< no lease, not listed, nobody owns it: the engine is placing it right now
                    ///< (just opened, last lease returned, check finished, taken from idle)
  idle,             ///< listed in Engine::idle_, no lease
  leased,           ///< carries leases; takes more while shared and below the limit
  checking,         ///< a background health check owns it
  doomed_unplaced,  ///< as unplaced, but it closes (broken or retiring) as soon as it is placed
  doomed_leased,    ///< carries leases, takes no new one: closes when the last returns
  doomed_checking,  ///< a health check owns it; closes when the check returns
};

enum class SlotEvent : std::uint8_t {
  take,          ///< idle -> unplaced: picked from the idle list
  park,          ///< unplaced -> idle: listed as idle
  lease,         ///< a lease is handed out on it
  last_release,  ///< its last lease came back
  check_start,   ///< idle -> checking: a background health check takes it
  check_end,     ///< the health check returned it
  doom,          ///< broken or retiring: takes no new lease, closes when handed back
};

/// The transition table. nullopt: the event is not legal in that state.
[[nodiscard]] constexpr std::optional<SlotState> next_state(SlotState s, SlotEvent e) noexcept {
  using S = SlotState;
  using E = SlotEvent;
  switch (e) {
    case E::take:
      if (s == S::idle) return S::unplaced;
      break;
    case E::park:
      if (s == S::unplaced) return S::idle;
      break;
    case E::lease:
      if (s == S::unplaced || s == S::idle || s == S::leased) return S::leased;
      break;
    case E::last_release:
      if (s == S::leased) return S::unplaced;
      if (s == S::doomed_leased) return S::doomed_unplaced;
      break;
    case E::check_start:
      if (s == S::idle) return S::checking;
      break;
    case E::check_end:
      if (s == S::checking) return S::unplaced;
      if (s == S::doomed_checking) return S::doomed_unplaced;
      break;
    case E::doom:
      // An idle connection is closed at once instead (it has no owner to wait for).
      if (s == S::unplaced || s == S::doomed_unplaced) return S::doomed_unplaced;
      if (s == S::leased || s == S::doomed_leased) return S::doomed_leased;
      if (s == S::checking || s == S::doomed_checking) return S::doomed_checking;
      break;
  }
  return std::nullopt;
}

/// Takes no new lease and closes when handed back.
[[nodiscard]] constexpr bool is_doomed(SlotState s) noexcept {
  return s == SlotState::doomed_unplaced || s == SlotState::doomed_leased ||
         s == SlotState::doomed_checking;
}
/// Carries at least one lease.
[[nodiscard]] constexpr bool is_leased(SlotState s) noexcept {
  return s == SlotState::leased || s == SlotState::doomed_leased;
}
/// Owned by a background health check.
[[nodiscard]] constexpr bool is_checking(SlotState s) noexcept {
  return s == SlotState::checking || s == SlotState::doomed_checking;
}

/// A close reason that says the connection failed (as opposed to being retired in good health).
/// A failure outranks a retirement: a retiring connection that then breaks closes as broken,
/// and one already broken stays broken when it also reaches its lifetime.
[[nodiscard]] constexpr bool is_failure(CloseReason r) noexcept {
  return r == CloseReason::broken || r == CloseReason::health_check;
}

[[nodiscard]] constexpr std::string_view to_string(SlotState s) noexcept {
  switch (s) {
    case SlotState::unplaced:
      return "unplaced";
    case SlotState::idle:
      return "idle";
    case SlotState::leased:
      return "leased";
    case SlotState::checking:
      return "checking";
    case SlotState::doomed_unplaced:
      return "doomed_unplaced";
    case SlotState::doomed_leased:
      return "doomed_leased";
    case SlotState::doomed_checking:
      return "doomed_checking";
  }
  return "?";
}

}  // namespace connpool::core::detail
