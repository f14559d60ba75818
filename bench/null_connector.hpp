// A connector with no I/O at all, so a benchmark measures the pool (and what is plugged into
// it, such as an observer) rather than a network.
#pragma once

#include "connpool/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>

namespace connpool::bench {

struct NullConnection {
  long uses = 0;
};

struct NullConnector {
  using connection_type = NullConnection;
  boost::asio::awaitable<Result<std::unique_ptr<NullConnection>>> connect() {
    co_return std::make_unique<NullConnection>();
  }
  boost::asio::awaitable<Result<void>> validate(NullConnection& /*conn*/) { co_return ok(); }
  bool recycle(NullConnection& /*conn*/) noexcept { return true; }
  void close(NullConnection& /*conn*/) noexcept {}
};

}  // namespace connpool::bench
