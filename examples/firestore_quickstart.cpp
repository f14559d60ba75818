// Firestore quick start: a pooled client, typed values, a query, a transaction.
//
//   FIRESTORE_EMULATOR_HOST=127.0.0.1:8080 GOOGLE_CLOUD_PROJECT=demo ./example_firestore_quickstart
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224 (Asio frames)

#include "connpool/firestore/firestore.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <thread>

namespace fs = connpool::firestore;
using boost::asio::awaitable;

int main() {
  auto options = fs::FirestoreOptions::from_env();
  if (!options) {
    std::fprintf(stderr, "%s\n", options.error().to_string().c_str());
    return 2;
  }
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });

  int rc = 0;
  {
    auto client = fs::Client::create(io.get_executor(), *options);
    if (!client) {
      std::fprintf(stderr, "%s\n", client.error().to_string().c_str());
      return 2;
    }
    auto db = client->blocking();  // this thread does not run `io`, so blocking calls are fine

    fs::Map ada{{"name", "Ada"},
                {"born", fs::Timestamp::from_rfc3339("1815-12-10T00:00:00Z").value()},
                {"visits", 0},
                {"tags", fs::Array{"math", "engines"}}};
    if (auto w = db.set_document("people", "ada", ada); !w) {
      std::fprintf(stderr, "set: %s\n", w.error().to_string().c_str());
      rc = 1;
    }
    if (auto d = db.get_document("people", "ada"); d && d->has_value()) {
      std::printf("%s\n", fs::dump(fs::to_json(**d), 2).c_str());
    }
    auto found =
        db.run_query(fs::Query("people").where("tags", "array-contains", "math").limit(10));
    if (found) std::printf("query: %zu document(s)\n", found->size());

    // Read-then-write, retried automatically when another writer interferes.
    auto tx = db.run_transaction([](fs::Transaction& t) -> awaitable<connpool::Result<void>> {
      auto d = co_await t.get_document("people", "ada");
      if (!d) co_return std::move(d).error();
      // The document may be missing (e.g. the set above failed): say so, never dereference it.
      if (!*d) co_return connpool::fail(connpool::errc::not_found, "people/ada does not exist");
      const auto visits = (*d)->fields.at("visits").as<std::int64_t>();
      t.update("people", "ada", fs::Map{{"visits", visits + 1}});
      co_return connpool::ok();
    });
    if (!tx) {
      std::fprintf(stderr, "transaction: %s\n", tx.error().to_string().c_str());
      rc = 1;
    }
    client->pool().close_blocking(std::chrono::seconds(5));
  }
  work.reset();
  io.stop();
  io_thread.join();
  return rc;
}
