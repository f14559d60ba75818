// BulkWriter: queued writes sent through BatchWrite in batches of up to 500, paced by the
// ramp-up rate limit, with the retryable per-write failures sent again after a core::Backoff wait.
#include "connpool/firestore/bulk_writer.hpp"

#include "../client_impl.hpp"
#include "../convert.hpp"
#include "rate_limiter.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>

namespace connpool::firestore {

using detail::ClientImpl;
namespace v1 = detail::v1;

namespace {

/// Per-write codes worth another attempt (contention, overload, transient unavailability).
bool retryable_write(errc code) {
  return code == errc::aborted || code == errc::unavailable || code == errc::resource_exhausted ||
         code == errc::deadline_exceeded;
}

std::optional<std::string> options_problem(const BulkWriterOptions& o) {
  if (o.max_batch_size == 0 || o.max_batch_size > kMaxWritesPerCommit) {
    return "max_batch_size must be in 1..500";
  }
  if (o.max_attempts < 1) return "max_attempts must be >= 1";
  if (o.rate_limit) {
    if (!(o.initial_ops_per_second > 0)) return "initial_ops_per_second must be > 0";
    if (!(o.max_ops_per_second >= o.initial_ops_per_second)) {
      return "max_ops_per_second must be >= initial_ops_per_second";
    }
    if (!(o.ramp_up_factor >= 1)) return "ramp_up_factor must be >= 1";
    if (o.ramp_up_interval.count() <= 0) return "ramp_up_interval must be > 0";
  }
  if (auto p = core::backoff_policy_problem(o.retry)) return "retry: " + *p;
  return std::nullopt;
}

boost::asio::awaitable<void> wait_for(std::chrono::nanoseconds d) {
  if (d.count() <= 0) co_return;
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

}  // namespace

struct BulkWriter::State {
  State(std::shared_ptr<ClientImpl> c, BulkWriterOptions o)
      : client(std::move(c)),
        options(std::move(o)),
        limiter(options.initial_ops_per_second, options.max_ops_per_second, options.ramp_up_factor,
                options.ramp_up_interval) {}

  struct Item {
    std::size_t index = 0;
    v1::Write proto;
    int attempts = 0;
  };

  std::shared_ptr<ClientImpl> client;
  BulkWriterOptions options;
  detail::RampUpRateLimiter limiter;
  std::size_t next_index = 0;
  bool closed = false;
  std::vector<Item> queued;
  /// Writes refused at add() (bad path, after close), reported with the next flush.
  std::vector<BulkWriteResult> refused;
};

BulkWriter::BulkWriter(std::shared_ptr<ClientImpl> client, BulkWriterOptions options)
    : state_(std::make_unique<State>(std::move(client), std::move(options))) {}
BulkWriter::BulkWriter(BulkWriter&&) noexcept = default;
BulkWriter& BulkWriter::operator=(BulkWriter&&) noexcept = default;
BulkWriter::~BulkWriter() = default;

std::size_t BulkWriter::pending() const noexcept {
  return state_->queued.size() + state_->refused.size();
}

std::size_t BulkWriter::add(Write write) {
  auto& s = *state_;
  const auto index = s.next_index++;
  if (s.closed) {
    s.refused.push_back({index, 0, Error(errc::invalid_argument, "firestore BulkWriter: closed")});
    return index;
  }
  State::Item item;
  item.index = index;
  if (auto r = detail::write_to_proto(write, s.client->root(), item.proto); !r) {
    s.refused.push_back({index, 0, std::move(r).error()});
    return index;
  }
  s.queued.push_back(std::move(item));
  return index;
}

boost::asio::awaitable<Result<std::vector<BulkWriteResult>>> BulkWriter::flush() {
  auto& s = *state_;
  if (auto p = options_problem(s.options)) {
    co_return fail(errc::invalid_argument, "firestore BulkWriter: " + *p);
  }
  std::vector<BulkWriteResult> out = std::move(s.refused);
  s.refused.clear();
  std::deque<State::Item> todo(std::make_move_iterator(s.queued.begin()),
                               std::make_move_iterator(s.queued.end()));
  s.queued.clear();
  const auto& shared = *s.client->shared;
  const detail::CallPolicy policy{"BatchWrite", detail::Routing::database, shared.database_name,
                                  /*idempotent=*/false};
  core::Backoff backoff(s.options.retry);

  while (!todo.empty()) {
    std::vector<State::Item> batch;
    while (!todo.empty() && batch.size() < s.options.max_batch_size) {
      batch.push_back(std::move(todo.front()));
      todo.pop_front();
    }
    if (s.options.rate_limit) {
      co_await wait_for(s.limiter.acquire(batch.size(), std::chrono::steady_clock::now()));
    }
    v1::BatchWriteRequest req;
    req.set_database(shared.database_name);
    for (auto& item : batch) {
      ++item.attempts;
      *req.add_writes() = item.proto;
    }
    auto resp = co_await detail::unary_call<v1::BatchWriteResponse>(
        s.client, policy, req, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
          stub->async()->BatchWrite(ctx, rq, rs, std::move(done));
        });
    std::vector<State::Item> again;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& item = batch[i];
      Error err;
      if (!resp) {
        // The whole request failed: no write is known to be applied; each is judged alone.
        err = resp.error();
      } else if (auto r = detail::batch_write_result(*resp, i, batch.size()); r) {
        out.push_back({item.index, item.attempts, std::move(*r)});
        continue;
      } else {
        err = std::move(r).error();
      }
      if (retryable_write(err.code()) && item.attempts < s.options.max_attempts) {
        again.push_back(std::move(item));
        continue;
      }
      if (item.attempts > 1) {
        err = err.with_context("after " + std::to_string(item.attempts) + " attempts");
      }
      out.push_back({item.index, item.attempts, std::move(err)});
    }
    if (again.empty()) {
      if (resp) backoff.reset();
      continue;
    }
    // Failed writes go first in the next batch, after a wait that grows while failures repeat.
    co_await wait_for(backoff.next());
    for (auto it = again.rbegin(); it != again.rend(); ++it) todo.push_front(std::move(*it));
  }
  std::sort(out.begin(), out.end(),
            [](const BulkWriteResult& a, const BulkWriteResult& b) { return a.index < b.index; });
  co_return out;
}

boost::asio::awaitable<Result<std::vector<BulkWriteResult>>> BulkWriter::close() {
  auto r = co_await flush();
  state_->closed = true;
  co_return r;
}

BulkWriter Client::bulk_writer(BulkWriterOptions options) const {
  return BulkWriter(impl_, std::move(options));
}

}  // namespace connpool::firestore
