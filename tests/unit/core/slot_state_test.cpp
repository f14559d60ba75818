// The connection slot's transition table (include/connpool/core/detail/slot_state.hpp): every
// (state, event) pair, so a change to the table is a deliberate change to this test.
#include "connpool/core/detail/slot_state.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <optional>
#include <utility>

namespace connpool::core::detail {
namespace {

using S = SlotState;
using E = SlotEvent;

constexpr std::array kStates{S::unplaced,        S::idle,          S::leased,         S::checking,
                             S::doomed_unplaced, S::doomed_leased, S::doomed_checking};
constexpr std::array kEvents{E::take,        E::park,      E::lease, E::last_release,
                             E::check_start, E::check_end, E::doom};

TEST(SlotState, TransitionTableIsExactlyTheDocumentedOne) {
  const std::map<std::pair<S, E>, S> legal{
      {{S::idle, E::take}, S::unplaced},
      {{S::unplaced, E::park}, S::idle},
      {{S::unplaced, E::lease}, S::leased},
      {{S::idle, E::lease}, S::leased},
      {{S::leased, E::lease}, S::leased},
      {{S::leased, E::last_release}, S::unplaced},
      {{S::doomed_leased, E::last_release}, S::doomed_unplaced},
      {{S::idle, E::check_start}, S::checking},
      {{S::checking, E::check_end}, S::unplaced},
      {{S::doomed_checking, E::check_end}, S::doomed_unplaced},
      {{S::unplaced, E::doom}, S::doomed_unplaced},
      {{S::doomed_unplaced, E::doom}, S::doomed_unplaced},
      {{S::leased, E::doom}, S::doomed_leased},
      {{S::doomed_leased, E::doom}, S::doomed_leased},
      {{S::checking, E::doom}, S::doomed_checking},
      {{S::doomed_checking, E::doom}, S::doomed_checking},
  };
  int checked = 0;
  for (S s : kStates) {
    for (E e : kEvents) {
      const auto it = legal.find({s, e});
      const std::optional<S> expected =
          it == legal.end() ? std::nullopt : std::optional<S>(it->second);
      EXPECT_EQ(next_state(s, e), expected)
          << "state " << to_string(s) << ", event " << static_cast<int>(e);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 49);
}

TEST(SlotState, DoomedStatesTakeNoLeaseAndCannotBeUndoomed) {
  for (S s : kStates) {
    if (!is_doomed(s)) continue;
    EXPECT_FALSE(next_state(s, E::lease)) << to_string(s);
    EXPECT_FALSE(next_state(s, E::park)) << to_string(s);
    for (E e : kEvents) {
      if (auto next = next_state(s, e)) {
        EXPECT_TRUE(is_doomed(*next)) << to_string(s);
      }
    }
  }
}

TEST(SlotState, IdleConnectionsAreClosedNotDoomed) {
  // An idle connection has nobody to hand it back, so dooming it would leak it.
  EXPECT_FALSE(next_state(S::idle, E::doom));
}

TEST(SlotState, Predicates) {
  EXPECT_TRUE(is_leased(S::leased));
  EXPECT_TRUE(is_leased(S::doomed_leased));
  EXPECT_FALSE(is_leased(S::idle));
  EXPECT_TRUE(is_checking(S::checking));
  EXPECT_TRUE(is_checking(S::doomed_checking));
  EXPECT_FALSE(is_checking(S::unplaced));
  EXPECT_TRUE(is_failure(CloseReason::broken));
  EXPECT_TRUE(is_failure(CloseReason::health_check));
  EXPECT_FALSE(is_failure(CloseReason::lifetime));
  EXPECT_FALSE(is_failure(CloseReason::retired));
}

}  // namespace
}  // namespace connpool::core::detail
