// Multi-key commands split by hash slot and their replies merged in the client's key order
// (src/proxy/cluster_split.hpp), and the refusals that apply in front of a cluster.
#include "cluster_split.hpp"

#include "connpool/proxy/command_rules.hpp"
#include "connpool/redis/cluster/hash_slot.hpp"

#include <gtest/gtest.h>

namespace connpool::proxy {
namespace {

using detail::merge_parts;
using detail::SlotSplit;
using detail::split_by_slot;
using redis::Reply;
using redis::cluster::hash_slot;

TEST(ClusterSplit, SingleSlotAndSingleKeyCommandsAreNotSplit) {
  EXPECT_FALSE(split_by_slot({"GET", "a"}));
  EXPECT_FALSE(split_by_slot({"MGET", "a"}));
  EXPECT_FALSE(split_by_slot({"MGET", "{u}a", "{u}b", "{u}c"}));  // one hash tag, one slot
  EXPECT_FALSE(split_by_slot({"SET", "a", "b"}));
  EXPECT_FALSE(split_by_slot({"MSET", "a", "1", "b"}));         // odd: the server's error
  EXPECT_FALSE(split_by_slot({"MSETNX", "a", "1", "b", "2"}));  // atomic: never split
}

TEST(ClusterSplit, MgetIsSplitPerSlotAndMergedInTheClientsOrder) {
  ASSERT_NE(hash_slot("a"), hash_slot("b"));
  auto split = split_by_slot({"mget", "a", "b", "{a}x"});
  ASSERT_TRUE(split);
  EXPECT_EQ(split->merge, SlotSplit::Merge::values);
  ASSERT_EQ(split->parts.size(), 2u);
  EXPECT_EQ(split->parts[0], (std::vector<std::string>{"mget", "a", "{a}x"}));
  EXPECT_EQ(split->parts[1], (std::vector<std::string>{"mget", "b"}));
  std::vector<Reply> replies;
  replies.push_back(Reply::array({Reply::string("A"), Reply::nil()}));
  replies.push_back(Reply::array({Reply::string("B")}));
  const Reply merged = merge_parts(*split, replies);
  ASSERT_TRUE(merged.is_array());
  ASSERT_EQ(merged.elements().size(), 3u);
  EXPECT_EQ(merged.elements()[0].str(), "A");
  EXPECT_EQ(merged.elements()[1].str(), "B");
  EXPECT_TRUE(merged.elements()[2].is_nil());
}

TEST(ClusterSplit, MsetKeepsPairsAndAnswersOkOnce) {
  auto split = split_by_slot({"MSET", "a", "1", "b", "2"});
  ASSERT_TRUE(split);
  EXPECT_EQ(split->parts[0], (std::vector<std::string>{"MSET", "a", "1"}));
  EXPECT_EQ(split->parts[1], (std::vector<std::string>{"MSET", "b", "2"}));
  std::vector<Reply> ok{Reply::status("OK"), Reply::status("OK")};
  EXPECT_EQ(merge_parts(*split, ok).str(), "OK");
}

TEST(ClusterSplit, CountingCommandsSumTheParts) {
  for (const char* cmd : {"DEL", "EXISTS", "UNLINK", "TOUCH"}) {
    auto split = split_by_slot({cmd, "a", "b", "a"});
    ASSERT_TRUE(split) << cmd;
    EXPECT_EQ(split->merge, SlotSplit::Merge::sum);
    std::vector<Reply> counts{Reply::integer(2), Reply::integer(1)};
    EXPECT_EQ(merge_parts(*split, counts).as_integer(), 3) << cmd;
  }
}

TEST(ClusterSplit, APartsErrorIsTheReplyAndOddRepliesAreErrors) {
  auto split = split_by_slot({"MGET", "a", "b"});
  ASSERT_TRUE(split);
  std::vector<Reply> failed{Reply::array({Reply::nil()}), Reply::error("CLUSTERDOWN no")};
  EXPECT_EQ(merge_parts(*split, failed).str(), "CLUSTERDOWN no");
  std::vector<Reply> odd{Reply::integer(1), Reply::array({Reply::nil()})};
  const Reply r = merge_parts(*split, odd);
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.str().find("unexpected reply"), std::string::npos) << r.str();
}

TEST(ClusterRules, WholeKeyspaceCommandsAndOtherDbsAreRefused) {
  RuleOptions cluster;
  cluster.cluster = true;
  using Args = std::vector<std::string>;
  for (const Args& args : {Args{"KEYS", "*"}, Args{"FLUSHALL"}, Args{"dbsize"}, Args{"RANDOMKEY"},
                           Args{"SWAPDB", "0", "1"}}) {
    const auto rule = classify(args, cluster);
    EXPECT_EQ(rule.kind, CommandKind::refused) << args[0];
    EXPECT_EQ(rule.rule, "cluster-keyspace") << args[0];
    EXPECT_EQ(classify(args).kind, CommandKind::plain) << args[0] << " without a cluster";
  }
  EXPECT_EQ(classify(Args{"SELECT", "1"}, cluster).rule, "cluster-select");
  EXPECT_EQ(classify(Args{"SELECT", "0"}, cluster).kind, CommandKind::select);
  EXPECT_EQ(classify(Args{"CLIENT", "TRACKING", "on"}, cluster).rule, "cluster-tracking");
  EXPECT_EQ(classify(Args{"GET", "k"}, cluster).kind, CommandKind::plain);
  // SCAN walks every primary (cluster_scan.hpp): forwarded, not refused.
  EXPECT_EQ(classify(Args{"scan", "0"}, cluster).kind, CommandKind::plain);
  EXPECT_EQ(classify(Args{"MULTI"}, cluster).kind, CommandKind::multi);
  EXPECT_EQ(refused_reply(Args{"KEYS", "secret*"}, "cluster-keyspace"),
            "-ERR 'KEYS' is not allowed through the connpool proxy (rule: cluster-keyspace)\r\n");
}

}  // namespace
}  // namespace connpool::proxy
