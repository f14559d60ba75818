// How a thread runs an io_context: as io_context::run(), or spinning briefly before it sleeps.
//
// On a virtual machine an idle vCPU that is woken by a network interrupt takes tens of
// microseconds to come back, and a client that waits for one reply at a time pays that wake-up
// on every round trip: at one caller on the 2-core test VM it sets the rate (redis-benchmark
// -c 1 runs 3x faster when the other vCPU is kept busy). A thread that keeps polling for a short
// while after its last handler finds the reply without ever going idle. It costs CPU: the
// thread burns up to `spin` of it each time it runs out of work, so it is an option for
// latency-sensitive services with few concurrent callers, off by default (docs/redis.md,
// "Latency at few callers").
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>

namespace connpool::core {

struct IoLoopOptions {
  /// How long a thread keeps polling for ready handlers after its last one before it blocks in
  /// the kernel; zero blocks at once (io_context::run()).
  std::chrono::microseconds spin{0};
};

/// Runs `io` on the calling thread until it is stopped or runs out of work, like io.run(), and
/// returns the number of handlers run. Several threads may call it on one io_context.
std::size_t run_io_loop(boost::asio::io_context& io, IoLoopOptions options = {});

}  // namespace connpool::core
