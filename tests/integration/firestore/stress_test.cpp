// Stress against the emulator, outside `make test` (run by `make stress-firestore`): many
// listeners on one pool, each seeing the write to its own document. Prints the time to open
// them (every first snapshot), the write-to-snapshot round trip and the memory they take.
// CONNPOOL_STRESS_LISTENERS sets the count (default 1,000; make test keeps 50 in listen_test).
#include "fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>

namespace connpool::firestore::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class ListenStress : public FirestoreTest {
 protected:
  /// The next snapshot of every listener, all awaited at once; failures name the listener.
  std::vector<Result<Snapshot>> next_all(std::vector<Listener>& ls, std::chrono::seconds limit) {
    std::vector<std::future<Result<Snapshot>>> futs;
    futs.reserve(ls.size());
    for (auto& l : ls)
      futs.push_back(boost::asio::co_spawn(io_.io(), l.next(), boost::asio::use_future));
    const auto deadline = Clock::now() + limit;
    std::vector<Result<Snapshot>> out;
    out.reserve(ls.size());
    for (std::size_t i = 0; i < futs.size(); ++i) {
      if (futs[i].wait_until(deadline) != std::future_status::ready) {
        ADD_FAILURE() << "listener " << i << ": no snapshot within " << limit.count() << " s";
        ls[i].close();
      }
      out.push_back(futs[i].get());
    }
    return out;
  }
};

TEST_F(ListenStress, ManyListenersOnOnePoolEachSeeTheirOwnChange) {
  const int n = env_int("CONNPOOL_STRESS_LISTENERS", 1000);
  ASSERT_GT(n, 0);
  FirestoreOptions o = options_;
  o.max_listeners = static_cast<std::size_t>(n);
  auto pc = default_pool_config();
  pc.max_size = static_cast<std::size_t>(n) / pc.max_leases_per_connection + 2;
  auto lc = Client::create(io_.io().get_executor(), o, pc);
  ASSERT_OK(lc);

  const long rss_before = rss_kib();
  const auto t_open = Clock::now();
  std::vector<Listener> ls;
  ls.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto l = lc->listen(DocumentRef::at("stress", "d" + std::to_string(i)));
    ASSERT_OK(l);
    ls.push_back(std::move(*l));
  }
  for (auto& s : next_all(ls, 180s)) {
    ASSERT_OK(s);
    EXPECT_TRUE(s->documents.empty());
  }
  const double open_ms = ms_since(t_open);
  const long rss_open = rss_kib();
  const auto stats = lc->pool().stats();
  EXPECT_EQ(stats.leases, static_cast<std::size_t>(n));

  // One write per listener's document, through the other pool's BulkWriter.
  BulkWriterOptions bo;
  bo.rate_limit = false;
  auto w = client().bulk_writer(bo);
  const auto t_write = Clock::now();
  for (int i = 0; i < n; ++i) w.add(Write::set("stress/d" + std::to_string(i), Map{{"n", i}}));
  auto written = run(w.flush());
  ASSERT_OK(written);
  for (const auto& r : *written) ASSERT_TRUE(r.result) << r.result.error().to_string();
  const double write_ms = ms_since(t_write);
  auto seen = next_all(ls, 180s);
  const double change_ms = ms_since(t_write);
  for (int i = 0; i < n; ++i) {
    const auto& s = seen[static_cast<std::size_t>(i)];
    ASSERT_OK(s);
    ASSERT_EQ(s->changes.size(), 1U) << "listener " << i;
    EXPECT_EQ(s->changes[0].type, DocumentChange::Type::added) << "listener " << i;
    EXPECT_EQ(s->changes[0].document.id, "d" + std::to_string(i));
    EXPECT_EQ(s->changes[0].document.get("n")->as<std::int64_t>(), i);
  }
  const long rss_end = rss_kib();
  std::printf(
      "stress-firestore: %d listeners on %zu channels: all current in %.0f ms; %d writes "
      "committed in %.0f ms, every listener saw its change %.0f ms after the first write; RSS "
      "%ld KiB before, %ld KiB with the listeners open (%.1f KiB per listener), %ld KiB at the "
      "end\n",
      n, stats.total, open_ms, n, write_ms, change_ms, rss_before, rss_open,
      static_cast<double>(rss_open - rss_before) / n, rss_end);
  for (auto& l : ls) l.close();
  lc->pool().close_blocking(10s);
}

}  // namespace
}  // namespace connpool::firestore::test
