// Private: the watch protocol of Firestore's Listen RPC as a state machine without I/O. The driver
// (listener.cpp) feeds it every ListenResponse and acts on what it returns; unit tests feed it
// scripted responses, including the ones the emulator never sends.
//
// The protocol, as the official clients implement it:
// - document_change / document_delete / document_remove accumulate as pending changes;
// - target_change CURRENT marks the target consistent with the server;
// - a global target_change NO_CHANGE (no target ids) with a read_time, once CURRENT, is a
//   consistent snapshot: the pending changes are applied and the resume token adopted;
// - RESET: the server will resend the target; every document is presumed removed until seen again;
//   a RESET that interrupts a result set still being sent (not CURRENT yet, after another RESET
//   or after document changes) is two result sets written into one stream (the emulator under
//   concurrent writes): the stream cannot be followed, so listen again (Step::relisten);
// - an existence filter whose count differs from ours: our view is wrong; reset it and listen
//   again from scratch (Step::relisten);
// - REMOVE: the server dropped the target (with a cause): a permanent error.
// The resume token is the one of the last delivered snapshot, so a stream resumed with it
// replays exactly the changes not yet delivered: nothing lost, nothing repeated. A change seen
// again with the same update_time is no change.
#pragma once

#include "connpool/core/error.hpp"
#include "connpool/firestore/listener.hpp"

#include "doc_order.hpp"
#include "google/firestore/v1/firestore.pb.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace connpool::firestore::detail {

namespace v1 = ::google::firestore::v1;

class WatchFsm {
 public:
  /// The id our single target uses on its stream.
  static constexpr std::int32_t kTargetId = 0x77;

  explicit WatchFsm(DocumentOrder order = {}) : order_(std::move(order)) {}

  struct Step {
    enum class Kind {
      none,      ///< keep reading
      snapshot,  ///< deliver `snapshot`
      relisten,  ///< close the stream and listen again (from resume_token(), maybe empty)
      fail,      ///< stop with `error`
    };
    Kind kind = Kind::none;
    std::optional<Snapshot> snapshot;
    Error error;
  };

  Step on_response(const v1::ListenResponse& msg);

  /// The stream ended (or is being replaced): pending changes are dropped. With a resume token
  /// the next stream replays them; without one the server resends the whole target, so every
  /// document is presumed removed until it is seen again.
  void on_stream_closed();

  /// The token to resume from (empty: listen from scratch).
  [[nodiscard]] const std::string& resume_token() const noexcept { return resume_token_; }
  [[nodiscard]] bool current() const noexcept { return current_; }
  /// Documents in the last delivered snapshot.
  [[nodiscard]] const std::vector<Document>& documents() const noexcept { return view_; }

 private:
  bool affects_us(const google::protobuf::RepeatedField<std::int32_t>& ids) const;
  void reset_docs();
  /// Size of the view once the pending changes are applied.
  std::size_t current_size() const;
  std::optional<Snapshot> push(const google::protobuf::Timestamp& read_time,
                               const std::string& token);
  std::int64_t index_of(const Document& d) const;
  std::int64_t insert(Document d);

  DocumentOrder order_;
  std::vector<Document> view_;                              // sorted by order_
  std::map<std::string, Document> docs_;                    // the same documents, by name
  std::map<std::string, std::optional<Document>> pending_;  // nullopt: removed
  std::string resume_token_;
  std::string candidate_token_;  // the latest token seen; adopted with the next snapshot
  bool current_ = false;
  bool resending_ = false;               // a RESET was followed by no CURRENT yet
  bool changed_before_current_ = false;  // a document change came while not CURRENT
  bool has_pushed_ = false;
};

}  // namespace connpool::firestore::detail
