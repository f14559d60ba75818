#include "bench/bench_hiredis_baseline.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace connpool::cli {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct ContextFree {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

timeval to_timeval(milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::uint32_t micros_since(Clock::time_point start) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// One command; the reply as a string (status or bulk), nullopt for nil. A null reply means the
// connection broke (c->err is set and the caller must not reuse it).
Result<std::optional<std::string>> execute(redisContext* c, int argc, const char** argv,
                                           const std::size_t* lens) {
  auto* reply = static_cast<redisReply*>(redisCommandArgv(c, argc, argv, lens));
  if (reply == nullptr) {
    // hiredis 0.14 reports a read timeout as REDIS_ERR_IO too.
    return Error(errc::io_error, std::string("hiredis: ") + c->errstr);
  }
  Result<std::optional<std::string>> out{std::optional<std::string>{}};
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out = std::optional<std::string>(std::string(reply->str, reply->len));
      break;
    case REDIS_REPLY_NIL:
      break;
    case REDIS_REPLY_ERROR:
      out = Error(errc::server_error, std::string(reply->str, reply->len));
      break;
    default:
      out = Error(errc::protocol_error, "unexpected reply type " + std::to_string(reply->type));
  }
  freeReplyObject(reply);
  return out;
}

Result<std::optional<std::string>> execute(redisContext* c,
                                           std::initializer_list<std::string_view> args) {
  std::array<const char*, 4> argv{};
  std::array<std::size_t, 4> lens{};
  int argc = 0;
  for (auto a : args) {
    argv[static_cast<std::size_t>(argc)] = a.data();
    lens[static_cast<std::size_t>(argc)] = a.size();
    ++argc;
  }
  return execute(c, argc, argv.data(), lens.data());
}

// Opens one connection the way a hiredis user would: connect with a timeout, a read/write
// timeout, AUTH and SELECT when the URL asks for them.
Result<Context> open(const redis::RedisUrl& url) {
  const timeval connect_tv = to_timeval(url.pool.connect_timeout);
  Context c(url.transport == redis::Transport::unix_socket
                ? redisConnectUnixWithTimeout(url.path.c_str(), connect_tv)
                : redisConnectWithTimeout(url.host.c_str(), url.port, connect_tv));
  if (!c)
    return Error(errc::connect_failed, "hiredis: out of memory connecting to " + url.endpoint());
  if (c->err != 0) {
    return Error(errc::connect_failed,
                 "connect to " + url.endpoint() + ": " + std::string(c->errstr));
  }
  if (url.command_timeout.count() > 0) redisSetTimeout(c.get(), to_timeval(url.command_timeout));
  if (!url.password.empty()) {
    auto auth = url.username.empty() ? execute(c.get(), {"AUTH", url.password})
                                     : execute(c.get(), {"AUTH", url.username, url.password});
    if (!auth)
      return Error(errc::auth_failed, "AUTH at " + url.endpoint() + ": " + auth.error().message());
  }
  if (url.db != 0) {
    const std::string db = std::to_string(url.db);
    if (auto sel = execute(c.get(), {"SELECT", db}); !sel) return sel.error();
  }
  return c;
}

// The redis-plus-plus ConnectionPool design: a deque of idle connections under a std::mutex,
// callers waiting on a std::condition_variable, connections opened lazily outside the lock up
// to `max`, broken ones closed and replaced on a later borrow.
class BlockingPool {
 public:
  BlockingPool(const redis::RedisUrl& url, std::size_t max, std::atomic<std::size_t>& opened)
      : url_(url), max_(max), opened_(opened) {}
  ~BlockingPool() {
    for (auto* c : idle_) redisFree(c);
  }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  Result<redisContext*> acquire() {
    std::unique_lock lock(mu_);
    const auto ready = [&] { return !idle_.empty() || open_ < max_; };
    if (url_.pool.acquire_timeout.count() > 0) {
      if (!cv_.wait_for(lock, url_.pool.acquire_timeout, ready)) {
        return Error(errc::acquire_timeout, "hiredis-pool: no connection free within " +
                                                std::to_string(url_.pool.acquire_timeout.count()) +
                                                "ms");
      }
    } else {
      cv_.wait(lock, ready);
    }
    if (!idle_.empty()) {
      redisContext* c = idle_.front();
      idle_.pop_front();
      return c;
    }
    ++open_;
    lock.unlock();
    auto c = open(url_);
    if (!c) {
      lock.lock();
      --open_;
      lock.unlock();
      cv_.notify_one();
      return c.error();
    }
    opened_.fetch_add(1, std::memory_order_relaxed);
    return c->release();
  }

  // Back to the pool, or closed when the command broke it (hiredis sets c->err).
  void release(redisContext* c) noexcept {
    const bool broken = c->err != 0;
    if (broken) redisFree(c);
    {
      std::lock_guard lock(mu_);
      if (broken) {
        --open_;
      } else {
        idle_.push_back(c);
      }
    }
    cv_.notify_one();
  }

 private:
  const redis::RedisUrl& url_;
  const std::size_t max_;
  std::atomic<std::size_t>& opened_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<redisContext*> idle_;
  std::size_t open_ = 0;
};

}  // namespace

struct HiredisBaseline::State {
  Options options;
  std::atomic<std::size_t> opened{0};
  std::optional<BlockingPool> pool;

  // One command on the caller's own connection (hiredis-threads) or a borrowed one.
  Result<std::optional<std::string>> run(Context& own,
                                         std::initializer_list<std::string_view> args) {
    if (pool) {
      auto c = pool->acquire();
      if (!c) return c.error();
      auto r = execute(*c, args);
      pool->release(*c);
      return r;
    }
    if (!own) {
      auto c = open(options.url);
      if (!c) {
        // Do not spin on a server that is down; the error is counted by the caller.
        std::this_thread::sleep_for(milliseconds(10));
        return c.error();
      }
      opened.fetch_add(1, std::memory_order_relaxed);
      own = std::move(*c);
    }
    auto r = execute(own.get(), args);
    if (own->err != 0) own.reset();  // broken: reconnect on the next command
    return r;
  }

  WorkerResult work(int worker, Totals& totals) {
    WorkerResult out;
    out.latencies_us.reserve(1 << 16);
    WorkerLoad load(options.keyspace, options.value_size, options.concurrency, worker);
    Context own;
    while (!totals.stop.load(std::memory_order_relaxed)) {
      const std::string& key = load.next_key();
      const std::string& value = load.next_value();
      auto start = Clock::now();
      auto set = run(own, {"SET", key, value});
      out.latencies_us.push_back(micros_since(start));
      if (!set) {
        out.fail(totals, set.error().to_string());
      } else if (*set != std::optional<std::string>("OK")) {
        out.fail(totals, "SET " + key + " did not reply OK");
      }
      start = Clock::now();
      auto get = run(own, {"GET", key});
      out.latencies_us.push_back(micros_since(start));
      if (!get) {
        out.fail(totals, get.error().to_string());
      } else {
        out.checked(totals, load.check(*get));
      }
      totals.ops.fetch_add(2, std::memory_order_relaxed);
    }
    return out;
  }
};

std::string_view baseline_name(BaselineKind kind) noexcept {
  return kind == BaselineKind::hiredis_pool ? "hiredis-pool" : "hiredis-threads";
}

HiredisBaseline::HiredisBaseline(std::unique_ptr<State> state) : state_(std::move(state)) {}
HiredisBaseline::~HiredisBaseline() = default;

Result<std::unique_ptr<HiredisBaseline>> HiredisBaseline::create(Options options) {
  if (options.url.transport == redis::Transport::tls) {
    return Error(errc::invalid_argument,
                 "--baseline: hiredis 0.14 has no TLS; use a redis:// or unix:// URL");
  }
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  // One connection and a PING before the clock starts, so an unreachable server fails here.
  // hiredis-pool keeps it as its first idle connection, as the connpool modes keep theirs.
  Result<std::optional<std::string>> ping{std::optional<std::string>{}};
  if (state->options.kind == BaselineKind::hiredis_pool) {
    state->pool.emplace(state->options.url, std::max<std::size_t>(1, state->options.pool_size),
                        state->opened);
    auto c = state->pool->acquire();
    if (!c) return c.error();
    ping = execute(*c, {"PING"});
    state->pool->release(*c);
  } else {
    auto c = open(state->options.url);
    if (!c) return c.error();
    ping = execute(c->get(), {"PING"});
  }
  if (!ping) {
    return Error(ping.error().code(),
                 state->options.url.endpoint() + ": " + ping.error().message());
  }
  return std::unique_ptr<HiredisBaseline>(new HiredisBaseline(std::move(state)));
}

std::future<WorkerResult> HiredisBaseline::spawn(int worker, Totals& totals) {
  State* state = state_.get();
  return std::async(std::launch::async,
                    [state, worker, &totals] { return state->work(worker, totals); });
}

std::size_t HiredisBaseline::connections_opened() const noexcept {
  return state_->opened.load(std::memory_order_relaxed);
}

}  // namespace connpool::cli
