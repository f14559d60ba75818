#include "watch_fsm.hpp"

#include "../convert.hpp"
#include "../grpc_internal.hpp"

#include <algorithm>

namespace connpool::firestore::detail {

using v1::ListenResponse;
using v1::TargetChange;

bool WatchFsm::affects_us(const google::protobuf::RepeatedField<std::int32_t>& ids) const {
  // No ids means "every target".
  return ids.empty() || std::find(ids.begin(), ids.end(), kTargetId) != ids.end();
}

WatchFsm::Step WatchFsm::on_response(const ListenResponse& msg) {
  Step step;
  switch (msg.response_type_case()) {
    case ListenResponse::kTargetChange: {
      const auto& tc = msg.target_change();
      const bool ours = affects_us(tc.target_ids());
      if (ours && !tc.resume_token().empty()) candidate_token_ = tc.resume_token();
      switch (tc.target_change_type()) {
        case TargetChange::NO_CHANGE:
          // Only a global NO_CHANGE with a read time marks a consistent point, and only once
          // the target is CURRENT (one sent before that is a progress note, not a snapshot).
          if (tc.target_ids().empty() && tc.has_read_time() && current_) {
            if (auto snap = push(tc.read_time(), candidate_token_)) {
              step.kind = Step::Kind::snapshot;
              step.snapshot = std::move(snap);
            }
          }
          break;
        case TargetChange::ADD:
          if (!ours) {
            step.kind = Step::Kind::fail;
            step.error = Error(errc::protocol_error,
                               "firestore Listen: the server added a target we did not ask for (" +
                                   std::to_string(tc.target_ids(0)) + ")");
          }
          break;
        case TargetChange::REMOVE:
          if (ours) {
            step.kind = Step::Kind::fail;
            if (tc.has_cause() && tc.cause().code() != 0) {
              step.error =
                  Error(map_status_code(static_cast<grpc::StatusCode>(tc.cause().code())),
                        "firestore Listen: the server removed the target: " + tc.cause().message());
            } else {
              step.error = Error(errc::internal, "firestore Listen: the server removed the target");
            }
          }
          break;
        case TargetChange::CURRENT:
          if (ours) {
            current_ = true;
            resending_ = false;
            changed_before_current_ = false;
          }
          break;
        case TargetChange::RESET:
          if (!ours) break;
          if (!current_ && (resending_ || changed_before_current_)) {
            // A second result set begins before the first one was complete. The emulator does
            // this when a write lands while it sends a (re)listen's result set: it writes both
            // sets into the stream at once. The documents of the first set sent before this
            // RESET are never sent again, so following the RESET would report them removed.
            // Listen again (from the last delivered snapshot's token) instead.
            step.kind = Step::Kind::relisten;
            break;
          }
          reset_docs();
          resending_ = true;
          break;
        default:
          step.kind = Step::Kind::fail;
          step.error = Error(errc::protocol_error,
                             "firestore Listen: unknown target change type " +
                                 std::to_string(static_cast<int>(tc.target_change_type())));
          break;
      }
      break;
    }
    case ListenResponse::kDocumentChange: {
      const auto& dc = msg.document_change();
      const auto& ids = dc.target_ids();
      const auto& removed = dc.removed_target_ids();
      if (std::find(ids.begin(), ids.end(), kTargetId) != ids.end()) {
        pending_[dc.document().name()] = document_from_proto(dc.document());
        if (!current_) changed_before_current_ = true;
      } else if (std::find(removed.begin(), removed.end(), kTargetId) != removed.end()) {
        pending_[dc.document().name()] = std::nullopt;
        if (!current_) changed_before_current_ = true;
      }
      break;
    }
    case ListenResponse::kDocumentDelete:
      pending_[msg.document_delete().document()] = std::nullopt;
      if (!current_) changed_before_current_ = true;
      break;
    case ListenResponse::kDocumentRemove:
      pending_[msg.document_remove().document()] = std::nullopt;
      if (!current_) changed_before_current_ = true;
      break;
    case ListenResponse::kFilter:
      if (msg.filter().target_id() == kTargetId &&
          static_cast<std::size_t>(msg.filter().count()) != current_size()) {
        // Some documents left the target without a message: our view cannot be repaired
        // incrementally. Start over; the next consistent snapshot reports the difference.
        reset_docs();
        step.kind = Step::Kind::relisten;
      }
      break;
    case ListenResponse::RESPONSE_TYPE_NOT_SET:
      break;
  }
  return step;
}

void WatchFsm::reset_docs() {
  pending_.clear();
  for (const auto& d : view_) pending_[d.name] = std::nullopt;
  resume_token_.clear();
  candidate_token_.clear();
  current_ = false;
}

void WatchFsm::on_stream_closed() {
  current_ = false;
  resending_ = false;
  changed_before_current_ = false;
  candidate_token_.clear();
  if (resume_token_.empty()) {
    reset_docs();
  } else {
    pending_.clear();
  }
}

std::size_t WatchFsm::current_size() const {
  std::size_t n = view_.size();
  for (const auto& [name, change] : pending_) {
    const bool known = docs_.count(name) != 0;
    if (change && !known) ++n;
    if (!change && known) --n;
  }
  return n;
}

std::int64_t WatchFsm::index_of(const Document& d) const {
  const auto it = std::lower_bound(view_.begin(), view_.end(), d, order_);
  return it - view_.begin();
}

std::int64_t WatchFsm::insert(Document d) {
  const auto it = std::lower_bound(view_.begin(), view_.end(), d, order_);
  const auto at = it - view_.begin();
  view_.insert(it, std::move(d));
  return at;
}

std::optional<Snapshot> WatchFsm::push(const google::protobuf::Timestamp& read_time,
                                       const std::string& token) {
  std::vector<Document> deletes;
  std::vector<Document> adds;
  std::vector<std::pair<Document, Document>> updates;  // old, new
  for (auto& [name, change] : pending_) {
    const auto it = docs_.find(name);
    if (!change) {
      if (it != docs_.end()) deletes.push_back(it->second);
    } else if (it == docs_.end()) {
      adds.push_back(std::move(*change));
    } else if (it->second.update_time < change->update_time) {
      // Only a newer version is a change. After a resume the server may send a document at a
      // version older than one already delivered (seen with the emulator under stream resets):
      // a document's update time never goes back while it exists, so that is stale, not news.
      updates.emplace_back(it->second, std::move(*change));
    }
  }
  pending_.clear();
  if (!token.empty()) resume_token_ = token;

  // Deletes, then adds, then modifications, each in view order, so the indexes describe applying
  // the changes one after the other.
  std::sort(deletes.begin(), deletes.end(), order_);
  std::sort(adds.begin(), adds.end(), order_);
  std::sort(updates.begin(), updates.end(),
            [this](const auto& a, const auto& b) { return order_(a.second, b.second); });
  std::vector<DocumentChange> changes;
  changes.reserve(deletes.size() + adds.size() + updates.size());
  for (auto& d : deletes) {
    const auto at = index_of(d);
    view_.erase(view_.begin() + at);
    docs_.erase(d.name);
    changes.push_back({DocumentChange::Type::removed, std::move(d), at, -1});
  }
  for (auto& d : adds) {
    docs_[d.name] = d;
    const auto at = insert(d);
    changes.push_back({DocumentChange::Type::added, std::move(d), -1, at});
  }
  for (auto& [old_doc, new_doc] : updates) {
    const auto from = index_of(old_doc);
    view_.erase(view_.begin() + from);
    docs_[new_doc.name] = new_doc;
    const auto to = insert(new_doc);
    changes.push_back({DocumentChange::Type::modified, std::move(new_doc), from, to});
  }
  // The first snapshot is delivered even when empty (it says "the target is empty"); later
  // ones only when something changed.
  if (has_pushed_ && changes.empty()) return std::nullopt;
  has_pushed_ = true;
  Snapshot snap;
  snap.documents = view_;
  snap.changes = std::move(changes);
  snap.read_time = timestamp_from_proto(read_time);
  return snap;
}

}  // namespace connpool::firestore::detail
