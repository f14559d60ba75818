// SentinelUrl: where the Sentinels are, which master they watch, and how to talk to the master
// once found. Plain data; copy freely. See docs/redis-sentinel.md.
//
//   redis-sentinel://[user:password@]host1[:port],host2[:port],.../master_name[/db][?options]
//
// - Sentinel ports default to 26379.
// - user:password, /db and every redis:// query option (pool sizes, timeouts, pipeline_auto,
//   client_name...) apply to the connections to the master, exactly as in a redis:// URL.
// - Options of the Sentinel connections themselves: sentinel_username, sentinel_password
//   (Sentinels with `requirepass`), sentinel_refresh (how often the master address is also
//   polled, in case a +switch-master message was missed; default 1s, 0 = never).
// - role=master|replica (default master): which nodes the Client's pools connect to. A
//   replica client spreads its connections over the replicas the Sentinels report healthy and
//   never falls back to the master.
//
// Secrets: passwords are kept only in `master.password` / `sentinel_password`; errors and
// redacted() show "***".
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/url.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis {

struct SentinelUrl {
  /// Which nodes a Client built from this URL connects to.
  enum class Role { master, replica };

  struct Address {
    std::string host;
    std::uint16_t port = 26379;
    friend bool operator==(const Address&, const Address&) = default;
  };

  /// The Sentinels, in the order they are asked.
  std::vector<Address> sentinels;
  /// The name the Sentinels monitor (`sentinel monitor <name> ...`).
  std::string master_name;
  /// Template of the master connections: everything but host and port (filled in from the
  /// Sentinels' answer on every connect). Its pool's reconnect_backoff_max is capped at 500 ms,
  /// so the pool reaches a promoted replica soon after a failover.
  RedisUrl master;
  std::string sentinel_username;
  std::string sentinel_password;  ///< never printed
  /// Polling interval of the master address besides the +switch-master subscription.
  /// Default 1000 ms; 0 = subscription only.
  std::chrono::milliseconds sentinel_refresh{1000};
  /// `role=`: the master (default), or the healthy replicas of `master_name`.
  Role role = Role::master;

  /// Errors: errc::invalid_argument (syntax) or errc::invalid_config (option values); they
  /// name the bad part and never contain a password.
  static Result<SentinelUrl> parse(std::string_view url);

  /// True when `url` starts with "redis-sentinel://".
  static bool matches(std::string_view url) noexcept;

  /// The URL with passwords replaced by "***": safe for logs.
  [[nodiscard]] std::string redacted() const;
  /// URL of one Sentinel (its address, sentinel credentials, the master's timeouts).
  [[nodiscard]] RedisUrl sentinel_url(const Address& sentinel) const;
  /// URL of the master (or, role=replica, of a replica) at `host:port`: the same credentials,
  /// database and options.
  [[nodiscard]] RedisUrl master_url(const Address& address) const;
};

}  // namespace connpool::redis
