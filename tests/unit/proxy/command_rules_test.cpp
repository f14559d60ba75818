// The proxy's command table: which commands pin, block, or are refused (and by which rule).
#include "connpool/proxy/command_rules.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connpool::proxy {
namespace {

CommandRule rule_of(std::vector<std::string> args, RuleOptions options = {}) {
  return classify(args, options);
}

TEST(CommandRules, StatefulCommandsAnyCase) {
  EXPECT_EQ(rule_of({"multi"}).kind, CommandKind::multi);
  EXPECT_EQ(rule_of({"ExEc"}).kind, CommandKind::exec);
  EXPECT_EQ(rule_of({"WATCH", "k"}).kind, CommandKind::watch);
  EXPECT_EQ(rule_of({"UNWATCH"}).kind, CommandKind::unwatch);
  EXPECT_EQ(rule_of({"SELECT", "1"}).kind, CommandKind::select);
  EXPECT_EQ(rule_of({"client", "tracking", "on"}).kind, CommandKind::tracking);
  EXPECT_EQ(rule_of({"CLIENT", "TRACKING", "off"}).kind, CommandKind::plain);
  EXPECT_EQ(rule_of({"subscribe", "c"}).kind, CommandKind::subscribe);
  EXPECT_EQ(rule_of({"PUNSUBSCRIBE"}).kind, CommandKind::punsubscribe);
}

TEST(CommandRules, BlockingCommands) {
  for (const char* name : {"BLPOP", "brpop", "BLMOVE", "BZPOPMIN", "BZPOPMAX", "WAIT", "BLMPOP"}) {
    EXPECT_EQ(rule_of({name, "k", "0"}).kind, CommandKind::blocking) << name;
  }
  EXPECT_EQ(rule_of({"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "$"}).kind,
            CommandKind::blocking);
  EXPECT_EQ(rule_of({"XREAD", "STREAMS", "block", "0"}).kind, CommandKind::plain);
  EXPECT_EQ(rule_of({"GET", "blpop"}).kind, CommandKind::plain);
}

TEST(CommandRules, RefusedCommandsNameTheirRule) {
  EXPECT_EQ(rule_of({"CLIENT", "KILL", "ID", "3"}).rule, "client-kill");
  EXPECT_EQ(rule_of({"shutdown", "nosave"}).rule, "shutdown");
  EXPECT_EQ(rule_of({"MONITOR"}).rule, "monitor");
  EXPECT_EQ(rule_of({"DEBUG", "SLEEP", "1"}).rule, "debug");
  EXPECT_EQ(rule_of({"config", "set", "maxmemory", "1"}).rule, "config-set");
  EXPECT_EQ(rule_of({"CLIENT", "REPLY", "OFF"}).rule, "client-reply");
  EXPECT_EQ(rule_of({"REPLICAOF", "h", "1"}).rule, "replication");
  EXPECT_EQ(rule_of({"CONFIG", "GET", "maxmemory"}).kind, CommandKind::plain);
  RuleOptions allow;
  allow.allow_config_set = true;
  EXPECT_EQ(rule_of({"CONFIG", "SET", "maxmemory", "1"}, allow).kind, CommandKind::plain);
}

TEST(CommandRules, RefusedReplyShowsOnlyTheCommandName) {
  std::vector<std::string> args{"CLIENT", "kill", "secret-address"};
  EXPECT_EQ(refused_reply(args, "client-kill"),
            "-ERR 'CLIENT KILL' is not allowed through the connpool proxy (rule: client-kill)\r\n");
  std::vector<std::string> debug{"debug", "sleep\r\n"};
  EXPECT_EQ(refused_reply(debug, "debug"),
            "-ERR 'DEBUG' is not allowed through the connpool proxy (rule: debug)\r\n");
}

TEST(CommandRules, EmptyAndOddInputs) {
  EXPECT_EQ(rule_of({}).kind, CommandKind::plain);
  EXPECT_EQ(rule_of({"CLIENT"}).kind, CommandKind::plain);
  EXPECT_EQ(rule_of({std::string("\0\xff", 2)}).kind, CommandKind::plain);
}

}  // namespace
}  // namespace connpool::proxy
