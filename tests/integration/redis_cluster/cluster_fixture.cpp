#include "cluster_fixture.hpp"

#include <cstdlib>

namespace connpool::test {

namespace {

std::unique_ptr<RedisCluster> g_cluster;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    g_cluster = RedisCluster::start({}, &error);
    if (!g_cluster) {
      // Every test needs the cluster: stop here with the reason rather than fail 20 times.
      std::fprintf(stderr, "cannot start the Redis Cluster: %s\n", error.c_str());
      std::exit(1);
    }
  }
  void TearDown() override { g_cluster.reset(); }
};

[[maybe_unused]] auto* const g_env =
    ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);  // gtest owns it

}  // namespace

RedisCluster* cluster() {
  return g_cluster.get();
}

redis::cluster::ClusterClient make_cluster_client(IoThreads& io, const std::string& query) {
  auto client = redis::cluster::ClusterClient::create(io.executor(), cluster()->url(query));
  EXPECT_TRUE(client) << client.error().to_string();
  return std::move(*client);
}

}  // namespace connpool::test
