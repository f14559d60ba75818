#include "connpool/core/pool_config.hpp"

#include <gtest/gtest.h>

namespace connpool::core {
namespace {

using namespace std::chrono_literals;

TEST(PoolConfig, DefaultsAreValid) {
  EXPECT_TRUE(PoolConfig{}.validate());
}

struct BadCase {
  const char* what;
  PoolConfig config;
  const char* message;
};

PoolConfig with(auto change) {
  PoolConfig c;
  change(c);
  return c;
}

TEST(PoolConfig, EachRuleNamesFieldAndValues) {
  const BadCase cases[] = {
      {"min above max", with([](PoolConfig& c) { c.min_size = 30, c.max_size = 20; }),
       "min_size (30) > max_size (20)"},
      {"zero max", with([](PoolConfig& c) { c.max_size = 0; }), "max_size (0) must be >= 1"},
      {"min_idle above max", with([](PoolConfig& c) { c.min_idle = 11; }),
       "min_idle (11) > max_size (10)"},
      {"zero leases", with([](PoolConfig& c) { c.max_leases_per_connection = 0; }),
       "max_leases_per_connection (0) must be >= 1"},
      {"negative timeout", with([](PoolConfig& c) { c.acquire_timeout = -5ms; }),
       "acquire_timeout (-5ms) must not be negative"},
      {"zero connect timeout", with([](PoolConfig& c) { c.connect_timeout = 0ms; }),
       "connect_timeout (0ms) must be > 0"},
      {"zero validation timeout", with([](PoolConfig& c) { c.validation_timeout = 0ms; }),
       "validation_timeout (0ms) must be > 0"},
      {"backoff max below initial", with([](PoolConfig& c) {
         c.reconnect_backoff_initial = 2s;
         c.reconnect_backoff_max = 1s;
       }),
       "reconnect_backoff_max (1s) < reconnect_backoff_initial (2s)"},
      {"multiplier", with([](PoolConfig& c) { c.reconnect_backoff_multiplier = 0.5; }),
       "reconnect_backoff_multiplier (0.500000) must be >= 1"},
      {"lifetime jitter", with([](PoolConfig& c) { c.max_lifetime_jitter = 0.9; }),
       "max_lifetime_jitter (0.900000) must be in [0, 0.5]"},
  };
  for (const auto& c : cases) {
    auto r = c.config.validate();
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code(), errc::invalid_config) << c.what;
    EXPECT_EQ(r.error().message(), c.message) << c.what;
  }
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("10m"), 10min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("0"), 0ms);
}

TEST(Duration, RejectsWithReason) {
  EXPECT_EQ(parse_duration("").error().message(),
            "invalid duration '': empty (use e.g. 250ms, 30s, 10m, 1h)");
  EXPECT_EQ(parse_duration("ten").error().message(),
            "invalid duration 'ten': must start with a whole number");
  EXPECT_EQ(parse_duration("5 s").error().message(),
            "invalid duration '5 s': unit must be one of ms, s, m, h");
  EXPECT_EQ(parse_duration("12").error().message(),
            "invalid duration '12': unit must be one of ms, s, m, h");
  EXPECT_EQ(parse_duration("-3s").error().message(),
            "invalid duration '-3s': must not be negative");
  EXPECT_EQ(parse_duration("99999999999999h").error().message(),
            "invalid duration '99999999999999h': too large");
}

TEST(Duration, FormatsShortestExactUnit) {
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(5000ms), "5s");
  EXPECT_EQ(format_duration(600000ms), "10m");
  EXPECT_EQ(format_duration(7200000ms), "2h");
  EXPECT_EQ(format_duration(0ms), "0ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
}

}  // namespace
}  // namespace connpool::core
