// Client::exec, the one coroutine behind every command of a redis::Client: takes a connection
// (acquire_ready, else acquire), runs the command, discards a broken connection, follows a
// Sentinel switch, and turns the reply into the caller's result in the same frame. Internal:
// included by the files that define Client's commands (the template is instantiated there).
#pragma once

#include "connpool/redis/client.hpp"

#include "client_state.hpp"
#include "sentinel/master_tracker.hpp"
#include "sentinel/replica_picker.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace connpool::redis {

namespace detail {

/// run()'s view of a reply: an error reply becomes a server_error, and every error names the
/// command.
inline Result<Reply> checked_reply(Result<Reply> reply, std::string_view name) {
  if (!reply) return std::move(reply).error().with_context("redis " + std::string(name));
  if (reply->is_error()) {
    return error_reply_to_result(std::move(*reply))
        .error()
        .with_context("redis " + std::string(name));
  }
  return reply;
}

/// command()'s: the reply as it came, error replies included.
inline Result<Reply> plain_reply(Result<Reply> reply, std::string_view /*name*/) {
  return reply;
}

/// The arguments' span: a span as it is (the caller keeps its strings alive), or a container
/// kept in exec()'s frame (std::array, or one with a view() that points into itself).
inline std::span<const std::string_view> args_view(std::span<const std::string_view> args) {
  return args;
}
template <class Args>
std::span<const std::string_view> args_view(Args& args) {
  if constexpr (requires { args.view(); }) {
    return args.view();
  } else {
    return std::span<const std::string_view>(args);
  }
}

}  // namespace detail

// One frame per command: a typed command returns this coroutine as it is, with its conversion
// (`finish`) run here, instead of awaiting it from a frame of its own.
template <class T, class Args>
Client::Task<T> Client::exec(Args args_in, Result<T> (*finish)(Result<Reply>, std::string_view)) {
  const std::span<const std::string_view> args = detail::args_view(args_in);
  // Only a Sentinel client waits for a switch (bounded from here): a clock read per command
  // is not free, so the others skip it.
  const auto started =
      state_->follower ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  for (int attempt = 0;; ++attempt) {
    const std::uint64_t switches = state_->follower ? state_->follower->tracker().switches() : 0;
    // A free (or shareable) connection is taken without acquire()'s coroutine frame. (No
    // co_await inside a conditional expression: GCC 12 destroys its temporaries twice.)
    auto& pool = state_->shared_pool();
    std::optional<RedisLease> lease = pool.acquire_ready();
    if (!lease) {
      auto acquired = co_await pool.acquire();
      if (!acquired) co_return finish(std::move(acquired).error(), args[0]);
      lease.emplace(std::move(*acquired));
    }
    auto reply = co_await (*lease)->execute(args);
    if (!reply && detail::breaks_connection(reply.error())) lease->discard();
    // Sentinel: a node that says it is not a writable master did not execute the command, so
    // it waits for the switch and goes to the new master (docs/redis-sentinel.md).
    if (!state_->follower || !state_->follower->waits_for_switch() || attempt >= 2 || !reply ||
        !reply->is_error() || !detail::not_master_reply(reply->str())) {
      co_return finish(std::move(reply), args[0]);
    }
    lease.reset();  // back to the pool (it will be retired)
    const auto deadline = started + state_->url.pool.acquire_timeout;
    if (!co_await state_->follower->tracker().await_switch(switches, deadline)) {
      co_return finish(std::move(reply), args[0]);
    }
  }
}

}  // namespace connpool::redis
