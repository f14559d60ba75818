// `connpool bench firestore`: C concurrent callers doing get, set or query loops for S seconds
// against a collection the bench seeds, in three channel modes:
//   pooled   N channels (own HTTP/2 connection each), up to L concurrent RPCs per channel
//   single   one channel carrying every RPC
//   per-op   a new channel (new TCP + HTTP/2 connection) for every operation
// Prints ops/s, latency percentiles, errors and the client's CPU time per operation (getrusage of
// this process: our code plus gRPC's threads; the emulator is another process). --json prints
// one JSON object per (mode, op). Results are checked: a get must return the seeded fields, a
// query (`city == X`, limit 10) exactly the seeded documents of that city; sets go to
// COLLECTION_writes so the queried collection holds only the seeded documents.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224, see cmd_bench_redis

#include "connpool/firestore/firestore.hpp"

#include "bench/support_bench.hpp"
#include "commands.hpp"
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace connpool::cli {
namespace {

namespace asio = boost::asio;
namespace fs = connpool::firestore;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int concurrency = 32;
  double duration_s = 10;
  double warmup_s = 3;
  int channels = 4;
  int leases_per_channel = 100;
  std::string mode = "all";
  std::string op = "all";
  int threads = 1;
  int docs = 100;
  bool json = false;
  std::string project;
  std::string emulator_host;
  std::string collection = "connpool_bench";
  bool auto_batch = true;   // FirestoreOptions::auto_batch.enabled
  int batch_in_flight = 4;  // FirestoreOptions::auto_batch.max_in_flight
};

struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<bool> record{false};
};

struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t errors = 0;
  std::string first_error;
};

constexpr const char* kCities[] = {"Paris", "Oslo", "Lima", "Kyiv"};
constexpr int kQueryLimit = 10;
constexpr std::size_t kPayloadSize = 100;

fs::Map doc_fields(int i) {
  return fs::Map{{"n", i},
                 {"city", kCities[i % 4]},
                 {"score", i * 0.5},
                 {"tags", fs::Array{"a", "b"}},
                 {"payload", std::string(kPayloadSize, 'x')}};
}

// The results are checked, so the bench cannot be fast by being wrong: a wrong answer counts as
// an error (and makes the exit code non-zero) like a failed call.
template <class T>
bool field_is(const fs::Document& d, std::string_view name, const T& want) {
  const fs::Value* v = d.get(name);
  const T* got = v ? v->get_if<T>() : nullptr;
  return got && *got == want;
}

std::optional<Error> check_get(const fs::Document& d, int i) {
  if (field_is(d, "n", std::int64_t{i}) && field_is(d, "city", std::string(kCities[i % 4])) &&
      field_is(d, "payload", std::string(kPayloadSize, 'x'))) {
    return std::nullopt;
  }
  return Error(errc::internal, "get d" + std::to_string(i) + ": not the seeded fields");
}

// Seeded documents d0..d(docs-1) are the only ones in the collection (set writes elsewhere):
// `city == kCities[c]` matches ceil((docs - c) / 4) of them.
std::optional<Error> check_query(const std::vector<fs::Document>& docs, int c, int seeded) {
  const auto want = static_cast<std::size_t>(std::min(kQueryLimit, (seeded - c + 3) / 4));
  if (docs.size() != want) {
    return Error(errc::internal, std::string("query city == ") + kCities[c] + ": " +
                                     std::to_string(docs.size()) + " documents, expected " +
                                     std::to_string(want) +
                                     " (other documents in the collection? use a fresh "
                                     "--collection)");
  }
  for (const auto& d : docs) {
    const fs::Value* n = d.get("n");
    const auto* ni = n ? n->get_if<std::int64_t>() : nullptr;
    if (!field_is(d, "city", std::string(kCities[c])) || !ni || *ni % 4 != c) {
      return Error(errc::internal,
                   std::string("query city == ") + kCities[c] + ": returned " + d.id);
    }
  }
  return std::nullopt;
}

asio::awaitable<WorkerResult> worker(fs::Client client, const BenchOptions& o, std::string op,
                                     Shared& shared, unsigned seed) {
  WorkerResult out;
  out.latencies_us.reserve(1 << 14);
  std::minstd_rand rng(seed);
  const std::string writes = o.collection + "_writes";
  while (!shared.stop.load(std::memory_order_relaxed)) {
    const int i = static_cast<int>(rng() % static_cast<unsigned>(o.docs));
    const auto start = Clock::now();
    std::optional<Error> err;
    if (op == "get") {
      auto r = co_await client.get_document(o.collection, "d" + std::to_string(i));
      if (!r) {
        err = r.error();
      } else if (!r->has_value()) {
        err = Error(errc::not_found, "seeded document d" + std::to_string(i) + " missing");
      } else {
        err = check_get(**r, i);
      }
    } else if (op == "set") {
      auto r = co_await client.set_document(writes, "w" + std::to_string(i), doc_fields(i));
      if (!r) err = r.error();
    } else {
      fs::Query q(o.collection);
      q.where("city", fs::Op::equal, kCities[i % 4]).limit(kQueryLimit);
      auto r = co_await client.run_query(std::move(q));
      err = r ? check_query(*r, i % 4, o.docs) : std::optional<Error>(r.error());
    }
    if (!shared.record.load(std::memory_order_relaxed)) continue;
    out.latencies_us.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
    if (err) {
      ++out.errors;
      if (out.first_error.empty()) out.first_error = err->to_string();
    }
  }
  co_return out;
}

fs::FirestoreOptions make_options(const BenchOptions& o) {
  fs::FirestoreOptions f;
  auto env = [](const char* n) {
    const char* v = std::getenv(n);
    return v ? std::string(v) : std::string();
  };
  f.project_id = o.project.empty() ? env("GOOGLE_CLOUD_PROJECT") : o.project;
  f.emulator_host = o.emulator_host.empty() ? env("FIRESTORE_EMULATOR_HOST") : o.emulator_host;
  f.auto_batch.enabled = o.auto_batch;
  f.auto_batch.max_in_flight = static_cast<std::size_t>(o.batch_in_flight);
  return f;
}

core::PoolConfig config_for(const BenchOptions& o, const std::string& mode) {
  auto c = fs::default_pool_config();
  c.acquire_timeout = std::chrono::milliseconds(30000);
  if (mode == "pooled") {
    c.min_size = static_cast<std::size_t>(o.channels);
    c.max_size = static_cast<std::size_t>(o.channels);
    c.max_leases_per_connection = static_cast<std::size_t>(o.leases_per_channel);
  } else if (mode == "single") {
    c.min_size = 1;
    c.max_size = 1;
    c.max_leases_per_connection = static_cast<std::size_t>(std::max(o.concurrency, 1));
  } else {  // per-op: every lease retires its channel when it comes back
    c.min_size = 0;
    c.max_size = static_cast<std::size_t>(o.concurrency);
    c.max_leases_per_connection = 1;
    c.max_lifetime = std::chrono::milliseconds(1);
    c.max_lifetime_jitter = 0;
  }
  return c;
}

int run_one(const BenchOptions& o, const std::string& mode, const std::string& op) {
  asio::io_context io(o.threads);
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back([&io] { io.run(); });
  auto finish = [&] {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  };
  auto fo = make_options(o);
  if (mode == "per-op") fo.ping_on_connect = false;  // the operation itself opens the channel
  int rc = kExitOk;
  {
    auto client = fs::Client::create(io.get_executor(), fo, config_for(o, mode));
    if (!client) {
      std::fprintf(stderr, "connpool bench firestore: %s\n", client.error().to_string().c_str());
      finish();
      return kExitConfigError;
    }
    Shared shared;
    std::vector<std::future<WorkerResult>> futures;
    for (int w = 0; w < o.concurrency; ++w) {
      futures.push_back(
          asio::co_spawn(io, worker(*client, o, op, shared, 1234u + w), asio::use_future));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    shared.record = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
    shared.record = false;
    const auto elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    shared.stop = true;
    std::vector<std::uint32_t> all;
    std::uint64_t errors = 0;
    std::string first_error;
    for (auto& f : futures) {
      auto r = f.get();
      all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
      errors += r.errors;
      if (first_error.empty()) first_error = r.first_error;
    }
    const auto ops = all.size();
    const double ops_per_sec = static_cast<double>(ops) / elapsed;
    const double cpu_us_per_op = ops ? cpu * 1e6 / static_cast<double>(ops) : 0;
    const auto p50 = percentile(all, 0.50);
    const auto p99 = percentile(all, 0.99);
    const auto stats = client->pool().stats();
    // Calls answered by batches over the whole run (warm-up included): how much batching did.
    const auto batching = client->auto_batch_stats();
    const auto batches = batching.get_batches + batching.write_batches;
    const auto batched = batching.batched_gets + batching.batched_writes;
    if (o.json) {
      nlohmann::json j{{"backend", "firestore"},
                       {"mode", mode},
                       {"op", op},
                       {"concurrency", o.concurrency},
                       {"duration_s", elapsed},
                       {"ops", ops},
                       {"ops_per_sec", ops_per_sec},
                       {"p50_us", p50},
                       {"p99_us", p99},
                       {"errors", errors},
                       {"cpu_us_per_op", cpu_us_per_op},
                       {"channels", mode == "pooled"   ? o.channels
                                    : mode == "single" ? 1
                                                       : 0},
                       {"leases_per_channel", stats.max_leases_per_connection},
                       {"channels_opened", stats.created},
                       {"auto_batch", o.auto_batch},
                       {"batches", batches},
                       {"batched_calls", batched}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf(
          "firestore %-7s %-5s c=%-4d %9.0f ops/s  p50 %6u us  p99 %7u us  cpu %6.1f us/op  "
          "errors %llu  channels opened %llu  batches %llu (%.1f calls each)\n",
          mode.c_str(), op.c_str(), o.concurrency, ops_per_sec, p50, p99, cpu_us_per_op,
          static_cast<unsigned long long>(errors), static_cast<unsigned long long>(stats.created),
          static_cast<unsigned long long>(batches),
          batches ? static_cast<double>(batched) / static_cast<double>(batches) : 0.0);
    }
    if (!first_error.empty()) {
      std::fprintf(stderr, "connpool bench firestore: first error: %s\n", first_error.c_str());
    }
    if (errors > 0) rc = kExitFailure;
    client->pool().close_blocking(std::chrono::seconds(5));
  }
  finish();
  return rc;
}

int seed(const BenchOptions& o) {
  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  std::thread t([&io] { io.run(); });
  int rc = kExitOk;
  {
    // A freshly started emulator (a cold JVM) can take several seconds to answer the first call.
    auto cfg = fs::default_pool_config();
    cfg.acquire_timeout = std::chrono::milliseconds(30000);
    auto c = fs::Client::create(io.get_executor(), make_options(o), cfg);
    if (!c) {
      std::fprintf(stderr, "connpool bench firestore: %s\n", c.error().to_string().c_str());
      rc = kExitConfigError;
    } else {
      std::vector<fs::Write> writes;
      for (int i = 0; i < o.docs; ++i) {
        writes.push_back(fs::Write::set(o.collection + "/d" + std::to_string(i), doc_fields(i)));
      }
      for (std::size_t i = 0; i < writes.size() && rc == kExitOk; i += fs::kMaxWritesPerCommit) {
        std::vector<fs::Write> batch(
            writes.begin() + static_cast<std::ptrdiff_t>(i),
            writes.begin() +
                static_cast<std::ptrdiff_t>(std::min(writes.size(), i + fs::kMaxWritesPerCommit)));
        if (auto r = c->blocking().commit(std::move(batch)); !r) {
          std::fprintf(stderr, "connpool bench firestore: seeding: %s\n",
                       r.error().to_string().c_str());
          rc = kExitFailure;
        }
      }
      c->pool().close_blocking(std::chrono::seconds(5));
    }
  }
  work.reset();
  io.stop();
  t.join();
  return rc;
}

}  // namespace

void add_bench_firestore(CLI::App& bench, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "firestore", "get / set / query loops from many concurrent callers against Firestore");
  cmd->add_option("--concurrency,-c", o->concurrency, "concurrent callers")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--duration,-d", o->duration_s, "measured seconds per (mode, op)")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup_s, "unmeasured seconds before each measurement")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--channels", o->channels, "channels in pooled mode")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--leases-per-channel", o->leases_per_channel,
                  "concurrent RPCs per channel in pooled mode")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--mode", o->mode, "pooled, single, per-op or all")
      ->check(CLI::IsMember({"pooled", "single", "per-op", "all"}))
      ->capture_default_str();
  cmd->add_option("--op", o->op, "get, set, query or all")
      ->check(CLI::IsMember({"get", "set", "query", "all"}))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "client io threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--docs", o->docs, "documents seeded and read")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--collection", o->collection, "collection to seed and use")
      ->capture_default_str();
  cmd->add_option("--project", o->project, "project id (default: $GOOGLE_CLOUD_PROJECT)");
  cmd->add_option("--emulator-host", o->emulator_host,
                  "emulator host:port (default: $FIRESTORE_EMULATOR_HOST)");
  cmd->add_option("--auto-batch", o->auto_batch,
                  "send concurrent gets / sets together (BatchGetDocuments / BatchWrite)")
      ->capture_default_str();
  cmd->add_option("--batch-in-flight", o->batch_in_flight,
                  "gets (sets) in flight before further ones queue for a batch")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print one JSON object per (mode, op)");
  cmd->callback([o, &exit_code] {
    if (int rc = seed(*o); rc != kExitOk) {
      exit_code = rc;
      return;
    }
    std::vector<std::string> modes = o->mode == "all"
                                         ? std::vector<std::string>{"pooled", "single", "per-op"}
                                         : std::vector<std::string>{o->mode};
    std::vector<std::string> ops = o->op == "all" ? std::vector<std::string>{"get", "set", "query"}
                                                  : std::vector<std::string>{o->op};
    exit_code = kExitOk;
    for (const auto& op : ops) {
      for (const auto& m : modes) {
        const int rc = run_one(*o, m, op);
        if (rc != kExitOk) exit_code = rc;
      }
    }
  });
}

}  // namespace connpool::cli
