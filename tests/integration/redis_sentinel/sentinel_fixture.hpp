// The fixture shared by the Sentinel test files of this binary: one RedisSentinelCluster
// (1 master + 2 replicas, one never promoted, + 3 Sentinels) for the whole suite, and helpers that
// run a client under load and watch which node it reaches.
#pragma once

#include "connpool/redis/client.hpp"

#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include "support/redis_test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace connpool::redis::sentinel_test {

namespace asio = boost::asio;
using connpool::test::IoThreads;
using connpool::test::RedisSentinelCluster;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kQuery =
    "min_size=2&max_size=8&acquire_timeout=15s&connect_timeout=500ms&command_timeout=2s&"
    "sentinel_refresh=500ms";

class Sentinel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string err;
    connpool::test::RedisSentinelOptions options;
    // Replica clients keep a replica during a failover only with two (replica_test.cpp).
    options.never_promoted_replica = true;
    cluster_ = RedisSentinelCluster::start(options, &err).release();
    ASSERT_NE(cluster_, nullptr) << err;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  Client make_client(const std::string& query) {
    auto c = Client::create(io_.executor(), cluster_->url(query));
    EXPECT_TRUE(c) << c.error().to_string();
    if (!c) throw std::runtime_error(c.error().to_string());
    return std::move(*c);
  }

  // The port of the node this client's pooled connections reach (CONFIG GET port).
  static int served_port(Client& c) {
    const std::vector<std::string> args{"CONFIG", "GET", "port"};
    auto r = c.wait(c.command(args));
    if (!r || !r->is_array() || r->elements().size() != 2) return 0;
    return std::atoi(r->elements()[1].str().c_str());
  }

  // Polls until the client's commands reach `port`; the time it took, or nothing.
  static std::optional<milliseconds> follow(Client& c, std::uint16_t port,
                                            steady_clock::time_point since, milliseconds limit) {
    const auto deadline = steady_clock::now() + limit;
    while (steady_clock::now() < deadline) {
      if (served_port(c) == port) {
        return std::chrono::duration_cast<milliseconds>(steady_clock::now() - since);
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  // INCR load: `workers` coroutines, one key each, counting successes and errors.
  struct Load {
    std::atomic<bool> stop{false};
    std::vector<std::atomic<long long>> ok;
    std::vector<std::atomic<long long>> failed;  // per worker
    // INCR replies per worker: a reply not above the previous one means the node that
    // answered lacked acknowledged increments (lost by asynchronous replication at the
    // switch); `dropped` sums how many, `drops` counts such events.
    std::vector<std::atomic<long long>> dropped;
    std::vector<std::atomic<int>> drops;
    std::atomic<long long> errors{0};
    std::mutex mu;
    std::map<std::string, int> error_kinds;          // guarded by mu
    std::map<std::string, std::string> first_error;  // guarded by mu: an example per kind
    std::vector<std::future<void>> done;
    explicit Load(std::size_t workers)
        : ok(workers), failed(workers), dropped(workers), drops(workers) {}
  };

  void start_load(Client& c, Load& load, const std::string& prefix) {
    worker_ = [&c, &load, prefix](std::size_t w) -> asio::awaitable<void> {
      const std::string key = prefix + std::to_string(w);
      long long last = 0;
      while (!load.stop.load()) {
        auto r = co_await c.incr(key);
        if (r) {
          load.ok[w].fetch_add(1);
          if (*r <= last) {
            load.dropped[w].fetch_add(last - *r + 1);
            load.drops[w].fetch_add(1);
          }
          last = *r;
        } else {
          load.errors.fetch_add(1);
          load.failed[w].fetch_add(1);
          std::lock_guard lock(load.mu);
          const std::string kind(to_string(r.error().code()));
          ++load.error_kinds[kind];
          load.first_error.emplace(kind, r.error().message());
        }
      }
    };
    for (std::size_t w = 0; w < load.ok.size(); ++w) {
      load.done.push_back(asio::co_spawn(io_.executor(), worker_(w), asio::use_future));
    }
  }

  // The other of nodes 0 and 1: the one a failover promotes (node 2 never is).
  static std::uint16_t other_node(std::uint16_t port) {
    const auto& d = cluster_->data_ports();
    return d[0] == port ? d[1] : d[0];
  }

  static void print_errors(Load& load) {
    std::lock_guard lock(load.mu);
    for (const auto& [kind, n] : load.error_kinds) {
      std::printf("    %s: %d (e.g. %s)\n", kind.c_str(), n, load.first_error[kind].c_str());
    }
  }

  inline static RedisSentinelCluster* cluster_ = nullptr;
  IoThreads io_{2};
  std::function<asio::awaitable<void>(std::size_t)> worker_;  // outlives its coroutines
};

}  // namespace connpool::redis::sentinel_test
