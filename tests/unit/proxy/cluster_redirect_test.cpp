// MOVED / ASK replies seen on a pinned cluster lease (src/proxy/cluster_upstream.hpp): parsed
// for the proxy to follow or explain, never passed on raw.
#include "cluster_upstream.hpp"

#include <gtest/gtest.h>

namespace connpool::proxy {
namespace {

using detail::redirect_message;
using detail::redirect_of;
using redis::Reply;
using redis::cluster::NodeAddress;

const NodeAddress kFrom{"10.0.0.1", 7000};

TEST(ClusterRedirect, MovedAndAskAreParsed) {
  auto moved = redirect_of(Reply::error("MOVED 3999 127.0.0.1:7002"), kFrom);
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->target, (NodeAddress{"127.0.0.1", 7002}));
  auto ask = redirect_of(Reply::error("ASK 12 127.0.0.1:7001"), kFrom);
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->slot, 12);
}

TEST(ClusterRedirect, AnEmptyHostIsTheAnsweringNodes) {
  const auto moved = redirect_of(Reply::error("MOVED 1 :7003"), kFrom);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->target, (NodeAddress{"10.0.0.1", 7003}));
}

TEST(ClusterRedirect, OtherRepliesAreNotRedirects) {
  EXPECT_FALSE(redirect_of(Reply::status("MOVED 1 127.0.0.1:7000"), kFrom));  // not an error
  EXPECT_FALSE(redirect_of(Reply::string("MOVED 1 127.0.0.1:7000"), kFrom));
  EXPECT_FALSE(redirect_of(Reply::error("ERR MOVED 1 127.0.0.1:7000"), kFrom));
  EXPECT_FALSE(redirect_of(Reply::error("TRYAGAIN Multiple keys request during rehashing"), kFrom));
  EXPECT_FALSE(redirect_of(Reply::error("MOVED 16384 127.0.0.1:7000"), kFrom));  // bad slot
  EXPECT_FALSE(redirect_of(Reply::error("MOVED 1 127.0.0.1"), kFrom));           // no port
  EXPECT_FALSE(redirect_of(Reply::error("MOVED x 127.0.0.1:7000"), kFrom));
}

TEST(ClusterRedirect, TheClientsMessageNamesTheSlotAndNodeNotTheRedirect) {
  const auto moved = redirect_of(Reply::error("MOVED 3999 127.0.0.1:7002"), kFrom);
  ASSERT_TRUE(moved);
  const auto text = redirect_message(*moved);
  EXPECT_TRUE(text.starts_with("TRYAGAIN ")) << text;
  EXPECT_NE(text.find("slot 3999 moved to 127.0.0.1:7002"), std::string::npos) << text;
  EXPECT_EQ(text.find("MOVED"), std::string::npos) << text;
  EXPECT_TRUE(redirect_message(*moved, "EXECABORT").starts_with("EXECABORT connpool proxy:"));
  const auto ask = redirect_of(Reply::error("ASK 5 127.0.0.1:7001"), kFrom);
  ASSERT_TRUE(ask);
  EXPECT_NE(redirect_message(*ask).find("slot 5 is migrating to 127.0.0.1:7001"),
            std::string::npos);
}

}  // namespace
}  // namespace connpool::proxy
