// Edit distance and "did you mean" (internal helpers).
#include "suggest.hpp"

#include <gtest/gtest.h>

namespace connpool::config::detail {
namespace {

TEST(Suggest, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("max_size", "max_size"), 0u);
  EXPECT_EQ(edit_distance("max_szie", "max_size"), 1u);   // transposition
  EXPECT_EQ(edit_distance("max_sze", "max_size"), 1u);    // deletion
  EXPECT_EQ(edit_distance("maxx_size", "max_size"), 1u);  // insertion
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, ClosestWithinATypo) {
  const std::vector<std::string_view> keys = {"min_size", "max_size", "url", "backend"};
  EXPECT_EQ(closest("max_szie", keys), "max_size");
  EXPECT_EQ(closest("ulr", keys), "url");
  EXPECT_EQ(closest("backedn", keys), "backend");
  EXPECT_EQ(closest("colour", keys), std::nullopt);
  EXPECT_EQ(closest("x", keys), std::nullopt);
}

}  // namespace
}  // namespace connpool::config::detail
