#include "connpool/service/load_generator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

namespace connpool::service {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
// After a failed operation a worker waits at least this long, so an outage (where calls fail at
// once, e.g. with the circuit open) costs no CPU.
constexpr auto kErrorPause = 100ms;
// SET keys expire by themselves: the load leaves nothing behind in a real Redis.
constexpr auto kKeyTtl = 60s;

struct PoolCounters {
  explicit PoolCounters(std::string n) : name(std::move(n)) {}
  std::string name;
  std::atomic<long> ops{0};
  std::atomic<long> errors{0};
  std::mutex mu;
  std::string last_error;  // guarded by mu
  // Only the reporter touches these.
  long reported_ops = 0;
  long reported_errors = 0;

  void record(const std::optional<Error>& failure) {
    ++ops;
    if (!failure) return;
    ++errors;
    std::lock_guard lock(mu);
    last_error = failure->to_string();
  }
  std::string last() {
    std::lock_guard lock(mu);
    return last_error;
  }
};

}  // namespace

struct LoadGenerator::State {
  LoadOptions options;
  std::atomic<bool> stopping{false};
  std::atomic<int> running{0};
  // unique_ptr: workers keep references to their pool's counters.
  std::vector<std::unique_ptr<PoolCounters>> pools;

  void log(core::LogLevel level, const std::string& message) const {
    if (options.logger) options.logger(level, message);
  }
};

namespace {

using State = LoadGenerator::State;

// Counts a worker as running for as long as its coroutine frame lives.
struct Running {
  explicit Running(State& s) : state(s) { ++state.running; }
  ~Running() { --state.running; }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  State& state;
};

// Spaces one worker's operations `interval` apart (no burst to catch up after a stall), and
// pauses after a failure.
class Pacer {
 public:
  Pacer(asio::any_io_executor ex, const LoadOptions& o)
      : timer_(std::move(ex)), next_(Clock::now()) {
    if (o.rate > 0) {
      interval_ = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(static_cast<double>(o.concurrency) / o.rate));
    }
  }
  asio::awaitable<void> wait(bool failed) {
    const auto now = Clock::now();
    // A late timer is made up for (the rate holds on a busy machine), a stall is not (no burst).
    next_ += interval_;
    if (next_ < now - interval_) next_ = now;
    auto until = next_;
    if (failed) until = std::max(until, now + kErrorPause);
    if (until <= now) co_return;
    timer_.expires_at(until);
    co_await timer_.async_wait(nothrow);
  }

 private:
  asio::steady_timer timer_;
  Clock::duration interval_{0};
  Clock::time_point next_;
};

// One operation on a Redis pool: GET three times out of four, SET (with a TTL) otherwise, on a
// random key. Named locals only inside co_await (GCC 12 destroys temporaries there twice).
// `Client`: redis::Client, or a cluster::ClusterClient, which routes each key to the node owning
// its slot (the keys have no hash tag, so they spread over every primary).
template <class Client>
struct RedisOperation {
  Client client;
  unsigned keys;
  std::string value = std::string(64, 'x');
  redis::SetOptions ttl{.ex = kKeyTtl};

  asio::awaitable<std::optional<Error>> operator()(std::mt19937& rng) {
    const std::string key = "connpool:load:" + std::to_string(rng() % keys);
    std::optional<Error> failure;
    if (rng() % 4 == 0) {
      auto r = co_await client.set(key, value, ttl);
      if (!r) failure = std::move(r).error();
    } else {
      auto r = co_await client.get(key);
      if (!r) failure = std::move(r).error();
    }
    co_return failure;
  }
};

// One operation on a Firestore pool: a document get, safe against a production database (a
// missing document is a success).
struct FirestoreOperation {
  firestore::Client client;
  unsigned keys;
  std::string collection;

  asio::awaitable<std::optional<Error>> operator()(std::mt19937& rng) {
    std::string path = collection;
    std::string id = "key-" + std::to_string(rng() % keys);
    auto r = co_await client.get_document(std::move(path), std::move(id));
    std::optional<Error> failure;
    if (!r) failure = std::move(r).error();
    co_return failure;
  }
};

// One worker: `operation` again and again, paced, until stop is requested. The operation lives in
// this frame, so its member coroutines may refer to it.
template <class Operation>
asio::awaitable<void> worker(std::shared_ptr<State> state, PoolCounters& counters,
                             Operation operation, unsigned seed) {
  Running running(*state);
  auto executor = co_await asio::this_coro::executor;
  Pacer pacer(executor, state->options);
  std::mt19937 rng(seed);
  while (!state->stopping) {
    const std::optional<Error> failure = co_await operation(rng);
    counters.record(failure);
    if (state->stopping) break;
    co_await pacer.wait(failure.has_value());
  }
}

// One line per pool every report_interval: throughput, and the last error when there were any.
asio::awaitable<void> reporter(std::shared_ptr<State> state) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto interval = state->options.report_interval;
  const double seconds = std::chrono::duration<double>(interval).count();
  while (!state->stopping) {
    timer.expires_after(interval);
    co_await timer.async_wait(nothrow);
    if (state->stopping) break;
    for (auto& p : state->pools) {
      const long ops = p->ops;
      const long errors = p->errors;
      const long new_ops = ops - p->reported_ops;
      const long new_errors = errors - p->reported_errors;
      p->reported_ops = ops;
      p->reported_errors = errors;
      char rate[32];
      std::snprintf(rate, sizeof rate, "%.0f", static_cast<double>(new_ops) / seconds);
      std::string line = "load on '" + p->name + "': " + std::to_string(new_ops) + " ops (" + rate +
                         "/s), " + std::to_string(new_errors) + " errors";
      if (new_errors > 0) {
        state->log(core::LogLevel::warning, line + "; last: " + p->last());
      } else {
        state->log(core::LogLevel::info, line);
      }
    }
  }
}

}  // namespace

std::shared_ptr<LoadGenerator> LoadGenerator::start(Runtime& runtime,
                                                    asio::any_io_executor executor,
                                                    LoadOptions options) {
  std::shared_ptr<LoadGenerator> load(new LoadGenerator());
  load->state_ = std::make_shared<State>();
  State& st = *load->state_;
  st.options = std::move(options);
  st.options.keys = std::max(1, st.options.keys);
  if (st.options.concurrency <= 0) return load;

  const auto keys = static_cast<unsigned>(st.options.keys);
  unsigned seed = 1;
  // `concurrency` workers for one pool, each running an operation made by `make_operation`.
  const auto spawn_workers = [&](const std::string& name, const auto& make_operation) {
    st.pools.push_back(std::make_unique<PoolCounters>(name));
    PoolCounters& counters = *st.pools.back();
    for (int i = 0; i < st.options.concurrency; ++i) {
      auto operation = make_operation();
      asio::co_spawn(asio::make_strand(executor),
                     worker(load->state_, counters, std::move(operation), seed++), asio::detached);
    }
  };
  for (const auto& entry : runtime.redis_pools()) {
    spawn_workers(entry.name, [&] { return RedisOperation<redis::Client>{entry.client, keys}; });
  }
  for (const auto& entry : runtime.cluster_pools()) {
    spawn_workers(entry.name, [&] {
      return RedisOperation<redis::cluster::ClusterClient>{entry.client, keys};
    });
  }
  for (const auto& entry : runtime.firestore_pools()) {
    spawn_workers(entry.name, [&] {
      return FirestoreOperation{entry.client, keys, st.options.collection};
    });
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%g ops/s per pool", st.options.rate);
  st.log(core::LogLevel::info,
         "load generator: " + std::to_string(st.options.concurrency) + " workers per pool, " +
             (st.options.rate > 0 ? std::string(rate) : std::string("unpaced")) + ", " +
             std::to_string(st.options.keys) + " keys");
  if (st.options.report_interval > 0ms) {
    asio::co_spawn(asio::make_strand(executor), reporter(load->state_), asio::detached);
  }
  return load;
}

LoadGenerator::~LoadGenerator() {
  request_stop();
}

void LoadGenerator::request_stop() noexcept {
  if (state_) state_->stopping = true;
}

asio::awaitable<bool> LoadGenerator::wait_stopped(std::chrono::milliseconds deadline) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto end = Clock::now() + deadline;
  while (state_->running > 0 && Clock::now() < end) {
    timer.expires_after(20ms);
    co_await timer.async_wait(nothrow);
  }
  co_return state_->running == 0;
}

std::string LoadGenerator::summary() const {
  std::string out;
  for (const auto& p : state_->pools) {
    if (!out.empty()) out += "; ";
    out += "load on '" + p->name + "': " + std::to_string(p->ops.load()) + " ops, " +
           std::to_string(p->errors.load()) + " errors";
  }
  return out;
}

}  // namespace connpool::service
