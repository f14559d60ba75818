// Private: the bounds of Client::list_collection_ids, which gathers every page in memory. A
// server that never stops paging (broken or hostile: a new page token each time) must fail the
// call with errc::protocol_error instead of growing it forever; real parents list far fewer ids.
//
// Process-wide and settable only here, not a FirestoreOptions field: no caller has a reason to
// change them, but tests do. Under a sanitizer each id crossing gRPC costs a (suppressed)
// ThreadSanitizer report, so the default million ids take longer than ctest's timeout and
// connpool_firestore_rpc_tests lowers them there (Release tests keep the real ones).
// Thread-safe: atomics, read once at the start of each listing.
#pragma once

#include <cstddef>

namespace connpool::firestore::detail {

struct ListingLimits {
  /// Pages fetched before giving up. Default 10000.
  std::size_t max_pages = 10'000;
  /// Ids gathered before giving up (the listing fails once it holds more). Default 1000000.
  std::size_t max_ids = 1'000'000;
};

/// The limits in force.
ListingLimits listing_limits() noexcept;
/// Replaces the limits for every client of the process (tests only; values of 0 are raised to
/// 1). Returns the previous ones, so a test can restore them.
ListingLimits set_listing_limits(ListingLimits limits) noexcept;

}  // namespace connpool::firestore::detail
