// MasterTracker: the shared state of a Sentinel-backed Client. Internal.
//
// - connect() is the pools' connector of a role=master client: it connects to the current
//   master address (asking the Sentinels when it is unknown or stale) and accepts the node
//   only if ROLE says "master".
//   A failed connect or a non-master marks the address stale and asks the Sentinels again.
// - A Subscriber on the Sentinels listens to +switch-master; a poll every sentinel_refresh
//   covers a missed message. When the address changes, on_switch runs (the Client retires
//   every pooled connection, so queued commands go to the new master on fresh connections).
//   A role=replica client uses the same switch detection (its replica set changes with the
//   master) and connects through a ReplicaPicker instead of connect().
//
// Thread safety: every member is safe from any thread.
#pragma once

#include "connpool/redis/connection.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"
#include "connpool/redis/subscriber.hpp"

#include "sentinel_asker.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace connpool::redis::detail {

class MasterTracker : public std::enable_shared_from_this<MasterTracker> {
 public:
  using Address = SentinelUrl::Address;

  static std::shared_ptr<MasterTracker> create(boost::asio::any_io_executor executor,
                                               SentinelUrl url);
  MasterTracker(boost::asio::any_io_executor executor, SentinelUrl url);

  /// Runs on every switch of the master address (not on the first resolution).
  void on_switch(std::function<void()> fn);
  /// Starts the +switch-master subscription and the polling.
  void start();
  /// Stops both; idempotent.
  void stop() noexcept;

  /// A connection to the current master, verified with ROLE.
  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect();
  /// Asks the Sentinels, in order, for the master address (the first who knows wins).
  /// Errors: not_found (every reachable Sentinel says it does not know the master name),
  /// unavailable (no Sentinel answered); both list what each Sentinel said.
  boost::asio::awaitable<Result<Address>> ask_sentinels();
  /// ask_sentinels() and records the answer as the current master (a switch if it differs
  /// from a known one). A replica client calls it once, so later switches are noticed.
  boost::asio::awaitable<Result<Address>> refresh();
  /// The Sentinels, for other questions (SENTINEL REPLICAS).
  [[nodiscard]] SentinelAsker& asker() noexcept { return asker_; }

  /// After a reply saying "not the master" (READONLY, NOREPLICAS: the command was not
  /// executed), waits until the master address changes from what it was when `seen` was read
  /// from switches(), asking the Sentinels meanwhile. false when `deadline` passes first.
  boost::asio::awaitable<bool> await_switch(std::uint64_t seen,
                                            std::chrono::steady_clock::time_point deadline);

  [[nodiscard]] std::optional<Address> current() const;
  [[nodiscard]] std::uint64_t switches() const noexcept { return switches_.load(); }
  [[nodiscard]] const SentinelUrl& url() const noexcept { return url_; }

 private:
  static boost::asio::awaitable<void> watch(std::shared_ptr<MasterTracker> self);
  static boost::asio::awaitable<void> poll(std::shared_ptr<MasterTracker> self);
  // Records `a` as the master; runs on_switch when it differs from a known previous one.
  void set_master(const Address& a);
  void mark_stale(const Address& a);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  SentinelUrl url_;
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> switches_{0};
  std::atomic<bool> asking_{false};       // one await_switch() caller asks the Sentinels at a time
  boost::asio::steady_timer poll_timer_;  // strand only
  SentinelAsker asker_;

  mutable std::mutex mu_;
  std::optional<Address> current_;        // guarded by mu_
  bool stale_ = false;                    // guarded by mu_
  std::function<void()> on_switch_;       // guarded by mu_
  std::optional<Subscriber> subscriber_;  // guarded by mu_
};

/// What a Sentinel-backed ClientState keeps: the tracker, stopped when the client goes.
class MasterFollower {
 public:
  explicit MasterFollower(std::shared_ptr<MasterTracker> tracker) : tracker_(std::move(tracker)) {}
  ~MasterFollower() { tracker_->stop(); }
  MasterFollower(const MasterFollower&) = delete;
  MasterFollower& operator=(const MasterFollower&) = delete;
  [[nodiscard]] MasterTracker& tracker() const noexcept { return *tracker_; }
  /// True for role=master: a "not the master" reply waits for the switch and is sent again.
  /// A replica client returns it (a write to a replica is the caller's mistake, not a
  /// failover).
  [[nodiscard]] bool waits_for_switch() const noexcept {
    return tracker_->url().role == SentinelUrl::Role::master;
  }

 private:
  std::shared_ptr<MasterTracker> tracker_;
};

/// Error replies after which a command was not executed because the node is not (or no
/// longer) a writable master: safe to send again once the master has moved.
inline bool not_master_reply(std::string_view error) noexcept {
  return error.starts_with("READONLY") || error.starts_with("NOREPLICAS");
}

}  // namespace connpool::redis::detail
