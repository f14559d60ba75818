// Optimistic locking with WATCH/MULTI/EXEC: move 10 units between two balances, retrying when
// another client changed a watched key in between (errc::watch_conflict).
#include "connpool/redis/client.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace connpool::redis;

namespace {

asio::awaitable<connpool::Result<long long>> transfer(Client client, long long amount) {
  const std::array<std::string_view, 2> watched{"demo:alice", "demo:bob"};
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto tx = co_await client.transaction(watched);
    if (!tx) co_return tx.error();
    const std::array<std::string_view, 2> get_alice{"GET", "demo:alice"};
    auto alice = co_await tx->command(get_alice);
    if (!alice) co_return alice.error();
    const long long balance = alice->is_string() ? std::atoll(alice->str().c_str()) : 0;
    if (balance < amount) {
      (void)co_await tx->discard();
      co_return connpool::fail(connpool::errc::failed_precondition, "insufficient funds");
    }
    const std::string minus = std::to_string(-amount);
    const std::string plus = std::to_string(amount);
    tx->queue({"INCRBY", "demo:alice", minus}).queue({"INCRBY", "demo:bob", plus});
    auto done = co_await tx->exec();
    if (done) co_return (*done)[0].as_integer();
    if (!done.error().is(connpool::errc::watch_conflict)) co_return done.error();
    std::printf("attempt %d: watch conflict, retrying\n", attempt + 1);
  }
  co_return connpool::fail(connpool::errc::aborted, "too many conflicts");
}

}  // namespace

int main() {
  const char* env = std::getenv("REDIS_URL");
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  int rc = 0;
  {
    auto client =
        Client::create(io.get_executor(), env != nullptr ? env : "redis://127.0.0.1:6379");
    if (!client) {
      std::fprintf(stderr, "%s\n", client.error().to_string().c_str());
      rc = 2;
    } else if (auto seeded = client->wait(client->set("demo:alice", "100")); !seeded) {
      std::fprintf(stderr, "%s\n", seeded.error().to_string().c_str());
      rc = 1;
    } else if (auto r = client->wait(transfer(*client, 10)); !r) {
      std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
      rc = 1;
    } else {
      std::printf("alice now has %lld\n", *r);
    }
  }
  work.reset();
  runner.join();
  return rc;
}
