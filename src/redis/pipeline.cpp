#include "connpool/redis/pipeline.hpp"

#include "client_state.hpp"

#include <array>
#include <string>

namespace connpool::redis {

boost::asio::awaitable<Result<std::vector<Reply>>> Pipeline::exec() {
  if (!lease_) co_return Error(errc::invalid_argument, "redis pipeline: lease already released");
  RequestBatch batch = std::move(batch_);
  batch_.clear();
  auto replies = co_await lease_->execute(batch);
  if (!replies && detail::breaks_connection(replies.error())) lease_.discard();
  co_return replies;
}

Transaction::~Transaction() {
  // A stale WATCH must not follow the connection back into the pool; no I/O here, so drop it.
  if (watching_ && lease_) lease_.discard();
}

boost::asio::awaitable<Result<Reply>> Transaction::command(std::span<const std::string_view> args) {
  if (!lease_) co_return Error(errc::invalid_argument, "redis transaction already finished");
  auto reply = co_await lease_->execute(args);
  if (!reply) lease_.discard();
  co_return reply;
}

boost::asio::awaitable<Result<std::vector<Reply>>> Transaction::exec() {
  if (!lease_) co_return Error(errc::invalid_argument, "redis transaction already finished");
  // MULTI, the queued commands, EXEC: one write, so the server sees them back to back.
  RequestBatch batch;
  const std::array<std::string_view, 1> multi{"MULTI"};
  const std::array<std::string_view, 1> exec{"EXEC"};
  batch.add(multi);
  batch.append(queued_);
  batch.add(exec);
  queued_.clear();
  auto replies = co_await lease_->execute(batch);
  if (!replies) {
    lease_.discard();
    co_return std::move(replies).error().with_context("redis EXEC");
  }
  watching_ = false;  // EXEC always clears WATCH
  Reply& result = replies->back();
  if (result.is_nil()) {
    lease_.release();
    co_return Error(errc::watch_conflict,
                    "redis transaction aborted: a WATCHed key was modified (nothing applied)");
  }
  if (result.is_error()) {
    lease_.release();
    co_return Error(errc::server_error, "redis EXEC: " + result.str());
  }
  lease_.release();
  if (!result.is_array()) {
    co_return Error(errc::protocol_error, "redis EXEC: unexpected reply " + result.to_display());
  }
  co_return std::move(result.elements());
}

boost::asio::awaitable<Result<void>> Transaction::discard() {
  if (!lease_) co_return ok();
  if (watching_) {
    const std::array<std::string_view, 1> unwatch{"UNWATCH"};
    auto reply = co_await lease_->execute(unwatch);
    if (!reply) {
      lease_.discard();
      co_return std::move(reply).error().with_context("redis UNWATCH");
    }
    watching_ = false;
  }
  lease_.release();
  co_return ok();
}

}  // namespace connpool::redis
