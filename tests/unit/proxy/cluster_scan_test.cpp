// The cursor of the proxy's cluster-wide SCAN (src/proxy/cluster_scan.hpp): node index in the
// low bits, the node's own cursor above, 0 for "start" and "done".
#include "cluster_scan.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace connpool::proxy {
namespace {

using detail::decode_scan_cursor;
using detail::encode_scan_cursor;
using detail::next_scan_cursor;
using detail::ScanCursor;

TEST(ClusterScanCursor, ZeroIsTheFirstNodesStart) {
  EXPECT_EQ(decode_scan_cursor("0"), (ScanCursor{0, 0}));
  EXPECT_EQ(encode_scan_cursor({0, 0}), "0");
}

TEST(ClusterScanCursor, RoundTrips) {
  for (const ScanCursor at : {ScanCursor{1, 0}, ScanCursor{2, 17}, ScanCursor{0, 123456789},
                              ScanCursor{1023, (std::uint64_t{1} << 54) - 1}}) {
    const auto text = encode_scan_cursor(at);
    ASSERT_TRUE(text) << at.node << " " << at.cursor;
    EXPECT_EQ(decode_scan_cursor(*text), at) << *text;
  }
  EXPECT_EQ(encode_scan_cursor({2, 17}), std::to_string((17 << 10) | 2));
}

TEST(ClusterScanCursor, WhatDoesNotFitIsRefused) {
  EXPECT_FALSE(encode_scan_cursor({1024, 0}));
  EXPECT_FALSE(encode_scan_cursor({0, std::uint64_t{1} << 54}));
}

TEST(ClusterScanCursor, MalformedTextIsRefused) {
  for (const char* bad : {"", "-1", "abc", "12x", " 1", "18446744073709551616", "1.5"}) {
    EXPECT_FALSE(decode_scan_cursor(bad)) << bad;
  }
  EXPECT_TRUE(decode_scan_cursor("18446744073709551615"));
}

TEST(ClusterScanCursor, NextWalksTheNodesInOrderThenEnds) {
  EXPECT_EQ(next_scan_cursor(0, 42, 3), (ScanCursor{0, 42}));  // node 0 not done
  EXPECT_EQ(next_scan_cursor(0, 0, 3), (ScanCursor{1, 0}));    // node 0 done: node 1
  EXPECT_EQ(next_scan_cursor(1, 0, 3), (ScanCursor{2, 0}));
  EXPECT_FALSE(next_scan_cursor(2, 0, 3));  // last node done: cursor 0
  EXPECT_FALSE(next_scan_cursor(0, 0, 1));
}

}  // namespace
}  // namespace connpool::proxy
