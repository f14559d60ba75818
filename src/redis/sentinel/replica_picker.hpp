// ReplicaPicker: the connector of a role=replica Sentinel client. Internal.
//
// - Asks the Sentinels for the replicas of the master (SENTINEL REPLICAS <name>) and keeps
//   the healthy ones: not flagged s_down, o_down or disconnected, master-link-status ok.
// - Spreads new connections over them round robin, and keeps a connection only if ROLE says
//   it is a replica ("slave") whose link to its master is up ("connected"): a replica still
//   syncing would answer LOADING or serve a dataset being replaced.
// - A failed connect or a node that is not a usable replica is avoided for a moment and the
//   list is asked for again on the next connect; so is the list after a master switch (the
//   replica set changed: the old master rejoins as a replica, the promoted one left it).
// - No healthy replica is errc::unavailable naming the master; never a fall-back to the
//   master (a caller who wants one catches the error).
//
// Thread safety: every member is safe from any thread.
#pragma once

#include "connpool/redis/connection.hpp"
#include "connpool/redis/connector.hpp"
#include "connpool/redis/sentinel/sentinel_url.hpp"

#include "master_tracker.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace connpool::redis::detail {

class ReplicaPicker {
 public:
  using Address = SentinelUrl::Address;

  /// `tracker` watches the master (switches, the Sentinel connection); it is started and
  /// stopped by the Client, not here.
  explicit ReplicaPicker(std::shared_ptr<MasterTracker> tracker) : tracker_(std::move(tracker)) {}

  /// A connection to a healthy replica, verified with ROLE.
  boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect();

  /// The healthy replicas according to the first Sentinel that reports at least one.
  /// Errors: unavailable ("no healthy replica of '<name>' ...", or no Sentinel reachable),
  /// listing what each Sentinel said.
  boost::asio::awaitable<Result<std::vector<Address>>> ask_replicas();

 private:
  struct Avoided {
    Address address;
    std::chrono::steady_clock::time_point until;
    std::string why;
  };
  // The next replica round robin, skipping avoided ones; an error naming them if all are.
  Result<Address> pick();
  void avoid(const Address& a, std::string why);

  std::shared_ptr<MasterTracker> tracker_;
  std::mutex mu_;
  std::vector<Address> replicas_;      // guarded by mu_: the last healthy list
  bool stale_ = true;                  // guarded by mu_: ask before the next pick
  std::uint64_t asked_at_switch_ = 0;  // guarded by mu_: tracker switches() when asked
  std::size_t next_ = 0;               // guarded by mu_: round robin position
  std::vector<Avoided> avoided_;       // guarded by mu_
};

/// The pools' connect function of a Sentinel client: the master (MasterTracker::connect) or,
/// with role=replica, a healthy replica (a ReplicaPicker).
RedisConnector::ConnectFn sentinel_connect(std::shared_ptr<MasterTracker> tracker);

}  // namespace connpool::redis::detail
