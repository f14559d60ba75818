// One Redis Cluster (3 primaries + 3 replicas) for the whole test binary, started by a gtest
// Environment, plus helpers shared by the test files.
#pragma once

#include "connpool/redis/cluster/cluster_client.hpp"

#include "support/redis_cluster.hpp"
#include "support/redis_test_util.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace connpool::test {

/// The binary's cluster; null until the environment has started it.
RedisCluster* cluster();

/// A client on the shared cluster; fails the test on error.
redis::cluster::ClusterClient make_cluster_client(IoThreads& io, const std::string& query = "");

}  // namespace connpool::test
