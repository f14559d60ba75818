#include "connpool/redis/sentinel/sentinel_connect.hpp"

#include "master_tracker.hpp"
#include "replica_picker.hpp"

namespace connpool::redis {

boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect_via_sentinels(
    boost::asio::any_io_executor executor, SentinelUrl url) {
  // The tracker is never started: no subscription, no polling, just the asking and the check.
  auto tracker = detail::MasterTracker::create(std::move(executor), std::move(url));
  const auto connect = detail::sentinel_connect(tracker);
  auto connection = co_await connect();
  tracker->stop();
  co_return connection;
}

}  // namespace connpool::redis
