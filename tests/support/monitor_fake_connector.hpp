// A tiny connector for monitoring tests that need a real Pool: connects at once (or fails when
// told to), validates per a flag, no I/O. The pool core's own scripted connector is richer; this
// one keeps the monitor tests independent of the core's test internals.
#pragma once

#include "connpool/core/connector.hpp"
#include "connpool/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>

namespace connpool::test {

struct MonitorFakeConnection {
  int id = 0;
};

struct MonitorFakeScript {
  std::atomic<bool> fail_connect{false};
  std::atomic<bool> fail_validate{false};
  std::atomic<int> next_id{1};
};

class MonitorFakeConnector {
 public:
  using connection_type = MonitorFakeConnection;
  explicit MonitorFakeConnector(std::shared_ptr<MonitorFakeScript> script)
      : script_(std::move(script)) {}

  boost::asio::awaitable<Result<std::unique_ptr<MonitorFakeConnection>>> connect() {
    if (script_->fail_connect) co_return Error(errc::connect_failed, "connection refused");
    auto c = std::make_unique<MonitorFakeConnection>();
    c->id = script_->next_id++;
    co_return c;
  }
  boost::asio::awaitable<Result<void>> validate(MonitorFakeConnection& /*conn*/) {
    if (script_->fail_validate) co_return Error(errc::validation_failed, "PING failed");
    co_return ok();
  }
  bool recycle(MonitorFakeConnection& /*conn*/) noexcept { return true; }
  void close(MonitorFakeConnection& /*conn*/) noexcept {}

 private:
  std::shared_ptr<MonitorFakeScript> script_;
};

static_assert(core::Connector<MonitorFakeConnector>);

}  // namespace connpool::test
