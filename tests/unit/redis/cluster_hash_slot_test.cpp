// CRC16 and hash slot rules of Redis Cluster (vectors from the Redis Cluster specification and
// from redis-server's own CLUSTER KEYSLOT).
#include "connpool/redis/cluster/hash_slot.hpp"

#include <gtest/gtest.h>

#include <string>

namespace connpool::redis::cluster {
namespace {

TEST(ClusterHashSlot, Crc16MatchesTheSpecificationVector) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterHashSlot, SlotsMatchRedisServer) {
  // Values printed by `redis-cli CLUSTER KEYSLOT <key>` on redis-server 7.0.
  EXPECT_EQ(hash_slot("foo"), 12182);
  EXPECT_EQ(hash_slot("bar"), 5061);
  EXPECT_EQ(hash_slot("123456789"), 12739);
  EXPECT_EQ(hash_slot(""), 0);
}

TEST(ClusterHashSlot, HashTagIsTheTextInsideTheFirstBraces) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("{user1000}.followers"));
  EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("user1000"));
  // Only the first '{' and the first '}' after it count.
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
}

TEST(ClusterHashSlot, EmptyOrUnclosedTagHashesTheWholeKey) {
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(hash_tag("foo{bar"), "foo{bar");
  EXPECT_EQ(hash_tag("}foo{"), "}foo{");
  EXPECT_EQ(hash_slot("{}x"), crc16("{}x") % kSlotCount);
}

TEST(ClusterHashSlot, BinaryKeysAreHashedByteForByte) {
  const std::string key("a\0b", 3);
  EXPECT_NE(hash_slot(key), hash_slot("a"));
  EXPECT_LT(hash_slot(key), kSlotCount);
}

}  // namespace
}  // namespace connpool::redis::cluster
