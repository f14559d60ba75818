// raise_fd_limit() against the real process limits.
#include "connpool/monitor/fd_limit.hpp"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include <limits>

namespace connpool::monitor {
namespace {

rlimit current() {
  rlimit lim{};
  EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  return lim;
}

TEST(FdLimit, RaisesTheSoftLimitToTheHardLimit) {
  const rlimit before = current();
  // Start from a low soft limit (lowering is always allowed) so the raise is visible.
  rlimit low = before;
  low.rlim_cur = 256;
  if (before.rlim_max != RLIM_INFINITY && before.rlim_max <= 256) GTEST_SKIP() << "hard <= 256";
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);

  auto change = raise_fd_limit();
  ASSERT_TRUE(change) << change.error().to_string();
  EXPECT_EQ(change->soft_before, 256u);
  EXPECT_TRUE(change->raised());
  const rlimit after = current();
  EXPECT_EQ(change->soft_after, static_cast<std::uint64_t>(after.rlim_cur));
  if (before.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(after.rlim_cur, before.rlim_max);
    EXPECT_EQ(change->hard, static_cast<std::uint64_t>(before.rlim_max));
  } else {
    EXPECT_GT(after.rlim_cur, 256u);
    EXPECT_EQ(change->hard, std::numeric_limits<std::uint64_t>::max());
  }
  EXPECT_EQ(after.rlim_max, before.rlim_max) << "the hard limit is never touched";
  EXPECT_EQ(change->to_string(),
            "file descriptor limit raised from 256 to " + std::to_string(change->soft_after));

  // Idempotent: nothing more to raise.
  auto again = raise_fd_limit();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->raised());
  EXPECT_EQ(again->soft_after, change->soft_after);
  EXPECT_EQ(again->to_string(),
            "file descriptor limit already at " + std::to_string(change->soft_after));
}

}  // namespace
}  // namespace connpool::monitor
