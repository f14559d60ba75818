// SentinelAsker: asks the Sentinels one question, in order, until one gives an answer the
// caller accepts. Internal; shared by MasterTracker (where is the master?) and ReplicaPicker
// (which replicas are healthy?).
//
// The connection of the last Sentinel that gave an accepted answer is kept for the next
// question (it is asked first), so a steady state costs one round trip, not a connect.
//
// Thread safety: every member is safe from any thread, concurrently.
#pragma once

#include "connpool/redis/connection.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace connpool::redis::detail {

class SentinelAsker {
 public:
  explicit SentinelAsker(SentinelUrl url) : url_(std::move(url)) {}

  struct Outcome {
    std::optional<Reply> accepted;  ///< the first answer `judge` accepted
    bool answered = false;          ///< some Sentinel replied (accepted or not)
    /// "host:port: what it said; ..." for every Sentinel that did not give an accepted
    /// answer: unreachable, or the judge's reason. For error messages.
    std::string said;
  };
  /// Empty to accept `reply`; otherwise a short reason for the error message.
  using Judge = std::function<std::string(const Reply& reply)>;

  /// `args` must stay valid until the call completes.
  boost::asio::awaitable<Outcome> ask(std::span<const std::string_view> args, Judge judge);

  /// Closes the kept connection; later questions still work but keep nothing. Idempotent.
  void close() noexcept;

  [[nodiscard]] const SentinelUrl& url() const noexcept { return url_; }

 private:
  const SentinelUrl url_;
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::shared_ptr<Connection> kept_;  // guarded by mu_
};

}  // namespace connpool::redis::detail
