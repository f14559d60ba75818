// InFlightCalls alone (private header): what Client::close() relies on to find every call.
#include "firestore/inflight_calls.hpp"

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>

namespace connpool::firestore::detail {
namespace {

// A call's completion removes its entry only after it has posted; by then its caller may have
// started the next call with a context at the same address (a reused coroutine frame). That
// next call must still be registered, and close_all() must cancel it. The old one-entry-per-
// address map lost it: close() returned at once and the call's completion was dropped later.
TEST(InFlightCalls, ANextCallAtTheSameAddressStaysRegisteredWhileTheLastOneFinishesPosting) {
  InFlightCalls calls;
  grpc::ClientContext ctx;
  ASSERT_TRUE(calls.add(&ctx));
  ASSERT_TRUE(calls.begin_completion(&ctx));  // the first call completes and posts...
  int cancelled = 0;
  ASSERT_TRUE(calls.add(&ctx, [&] { ++cancelled; }));  // ...its caller starts the next one
  calls.end_completion(&ctx);                          // the first completion is done
  EXPECT_EQ(calls.size(), 1u);

  // close_all() cancels the live call; its completion (here, after the cancel) ends it.
  EXPECT_EQ(calls.close_all(std::chrono::milliseconds(50)), 1u);  // it did not complete
  EXPECT_EQ(cancelled, 1);
}

TEST(InFlightCalls, CloseAllWaitsForNothingWhenEveryCallEnded) {
  InFlightCalls calls;
  grpc::ClientContext a;
  grpc::ClientContext b;
  ASSERT_TRUE(calls.add(&a));
  ASSERT_TRUE(calls.add(&b));
  ASSERT_TRUE(calls.begin_completion(&a));
  calls.end_completion(&a);
  ASSERT_TRUE(calls.begin_completion(&b));
  calls.end_completion(&b);
  EXPECT_EQ(calls.size(), 0u);
  EXPECT_EQ(calls.close_all(std::chrono::milliseconds(5000)), 0u);
  EXPECT_FALSE(calls.add(&a)) << "a closed registry refuses new calls";
}

}  // namespace
}  // namespace connpool::firestore::detail
