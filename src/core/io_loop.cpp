#include "connpool/core/io_loop.hpp"

namespace connpool::core {

std::size_t run_io_loop(boost::asio::io_context& io, IoLoopOptions options) {
  if (options.spin <= std::chrono::microseconds::zero()) return io.run();
  using clock = std::chrono::steady_clock;
  std::size_t handlers = 0;
  auto last_work = clock::now();
  // poll_one() never blocks: with nothing ready it asks the reactor without a timeout (or, when
  // another thread is already in the reactor, returns at once). Once the spin has run out,
  // run_one() sleeps in the kernel as io.run() would, until the next handler is ready.
  while (!io.stopped()) {
    if (io.poll_one() > 0) {
      ++handlers;
      last_work = clock::now();
    } else if (clock::now() - last_work >= options.spin) {
      if (io.run_one() > 0) {
        ++handlers;
        last_work = clock::now();
      }
    }
  }
  return handlers;
}

}  // namespace connpool::core
