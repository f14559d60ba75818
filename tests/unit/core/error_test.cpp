#include "connpool/core/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

namespace connpool {
namespace {

TEST(Error, CarriesCodeMessageAndStdErrorCode) {
  Error e(errc::acquire_timeout, "acquire timed out after 250ms");
  EXPECT_TRUE(e.is(errc::acquire_timeout));
  EXPECT_EQ(e.to_string(), "acquire_timeout: acquire timed out after 250ms");
  std::error_code ec = e.error_code();
  EXPECT_EQ(ec, errc::acquire_timeout);
  EXPECT_STREQ(ec.category().name(), "connpool");
  EXPECT_EQ(ec.message(), "acquire_timeout");
  EXPECT_EQ(e.with_context("redis GET").message(), "redis GET: acquire timed out after 250ms");
}

TEST(Error, EveryCodeHasAStableDistinctName) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(errc::unknown); ++i) {
    auto name = to_string(static_cast<errc>(i));
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
}

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(errc::invalid_argument, "value must be > 0, got " + std::to_string(v));
  return v;
}

TEST(Result, HoldsValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 3);
  EXPECT_EQ(good.value_or(7), 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::invalid_argument);
  EXPECT_EQ(bad.error().message(), "value must be > 0, got -1");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Result, VoidAndMoveOnly) {
  Result<void> fine = ok();
  EXPECT_TRUE(fine);
  Result<void> broken = fail(errc::io_error, "reset by peer");
  EXPECT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), errc::io_error);
  Result<std::unique_ptr<int>> owned(std::make_unique<int>(5));
  auto p = std::move(owned).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultDeathTest, ReadingTheWrongSideAbortsLoudly) {
  EXPECT_DEATH(
      {
        Result<int> r = fail(errc::not_found, "no such key");
        (void)r.value();
      },
      "no such key");
}

}  // namespace
}  // namespace connpool
