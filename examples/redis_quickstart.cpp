// Redis quick start: a pooled client, typed commands, a pipeline, the blocking form, and the
// default-pool helpers. Run against a local server: REDIS_URL=redis://127.0.0.1:6379.
#include "connpool/redis/client.hpp"
#include "connpool/redis/default_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace asio = boost::asio;
using namespace connpool::redis;

namespace {

asio::awaitable<connpool::Result<void>> demo(Client client) {
  if (auto set = co_await client.set("demo:greeting", "hello"); !set) co_return set.error();
  auto value = co_await client.get("demo:greeting");
  if (!value) co_return value.error();
  std::printf("GET demo:greeting -> %s\n", value->value_or("(nil)").c_str());

  auto pipe = co_await client.pipeline();
  if (!pipe) co_return pipe.error();
  pipe->add({"INCR", "demo:counter"}).add({"INCR", "demo:counter"}).add({"GET", "demo:counter"});
  auto replies = co_await pipe->exec();
  if (!replies) co_return replies.error();
  for (const auto& r : *replies) std::printf("pipeline reply: %s\n", r.to_display().c_str());
  co_return connpool::ok();
}

}  // namespace

int main() {
  const char* env = std::getenv("REDIS_URL");
  const std::string url = env != nullptr ? env : "redis://127.0.0.1:6379";

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });

  int rc = 0;
  {
    auto client = Client::create(io.get_executor(), url);
    if (!client) {
      std::fprintf(stderr, "%s\n", client.error().to_string().c_str());
      rc = 2;
    } else {
      auto result = asio::co_spawn(io, demo(*client), asio::use_future).get();
      if (!result) {
        std::fprintf(stderr, "%s\n", result.error().to_string().c_str());
        rc = 1;
      }
      // Blocking form from this (non-io) thread.
      auto ttl = client->wait(client->ttl("demo:greeting"));
      if (ttl) std::printf("TTL demo:greeting -> %lld\n", *ttl);
      auto stats = client->pool().stats();
      std::printf("pool: total=%zu idle=%zu acquires=%llu\n", stats.total, stats.idle,
                  static_cast<unsigned long long>(stats.acquires));
    }
  }

  // The original system's helpers, on the default pool configured from REDIS_URL.
  if (auto ok = redis_set("demo:helper", "v", std::chrono::seconds(60)); ok) {
    auto v = redis_get("demo:helper");
    std::printf("redis_get(demo:helper) -> %s\n", v && *v ? (*v)->c_str() : "(error)");
  } else {
    std::fprintf(stderr, "%s\n", ok.error().to_string().c_str());
    rc = 1;
  }

  work.reset();
  runner.join();
  return rc;
}
