// Private: when a single-document call goes out alone and when it waits to go out with others
// in one batch (auto-batching, issue 19). No I/O and no lock: the owner (AutoBatcher) locks, and
// the unit tests drive it directly.
//
// Why: about 70 % of a get's or set's client CPU is gRPC's per-call cost. While `max_in_flight`
// RPCs of one kind are already in flight, a new call gains nothing by being sent at once (the
// server and the channel are busy anyway), so it queues; when one of those RPCs ends, everything
// queued goes out as one batch (BatchGetDocuments / BatchWrite): one call instead of many. At low
// load nothing queues and a call is still one RPC, so a lone caller's latency does not change.
// This is how the Redis side auto-pipelines concurrent commands.
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace connpool::firestore::detail {

/// Two calls for the same key (document name) in one batch:
enum class Duplicates {
  merge,  ///< reads: asked once, the answer given to each caller
  defer,  ///< writes: the later one waits for a later batch (BatchWrite refuses two writes to one
          ///< document, and one caller's writes to a document keep their order)
};

/// `Entry` has a `key` convertible to std::string_view (the document name).
///
/// Invariant: entries are queued only while in_flight() == max_in_flight, and finish() sends the
/// queue's head whenever it frees a slot, so a queued entry always has an RPC in flight whose end
/// will send it (no entry waits without one).
template <class Entry>
class BatchQueue {
 public:
  /// `max_in_flight` >= 1 RPCs of this kind at once; at most `max_batch` >= 1 distinct keys in a
  /// batch.
  BatchQueue(std::size_t max_in_flight, std::size_t max_batch, Duplicates duplicates)
      : max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight),
        max_batch_(max_batch < 1 ? 1 : max_batch),
        duplicates_(duplicates) {}

  /// A new call may go out alone now: true, and it is counted in flight until its finish().
  /// False: enqueue() it.
  bool try_send_alone() {
    if (in_flight_ >= max_in_flight_) return false;
    ++in_flight_;
    return true;
  }

  /// After try_send_alone() returned false (under the same lock).
  void enqueue(Entry entry) { queue_.push_back(std::move(entry)); }

  /// An RPC of this kind (alone or a batch) ended. Returns the next batch to send, in queue
  /// order, already counted in flight (its end calls finish() again); empty when nothing waits.
  std::vector<Entry> finish() {
    if (in_flight_ > 0) --in_flight_;
    if (queue_.empty()) return {};
    ++in_flight_;
    return take_batch();
  }

  /// Removes the first queued entry `pred` matches (a caller cancelled while it waited). False:
  /// none (already sent, or never queued).
  template <class Pred>
  bool remove_if(Pred pred) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (pred(*it)) {
        queue_.erase(it);
        return true;
      }
    }
    return false;
  }

  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }

 private:
  std::vector<Entry> take_batch() {
    // First choose (keys point into queue_, which does not change meanwhile), then move.
    std::vector<bool> taken(queue_.size(), false);
    std::unordered_set<std::string_view> keys;
    std::size_t count = 0;
    for (std::size_t i = 0; i < queue_.size(); ++i) {
      const std::string_view key = queue_[i].key;
      if (keys.contains(key)) {
        // A later call for a key already in the batch. Skipping it keeps a key's entries in
        // order: an earlier one is never left behind a later one.
        if (duplicates_ == Duplicates::merge) {
          taken[i] = true;
          ++count;
        }
        continue;
      }
      if (keys.size() >= max_batch_) continue;  // full: only duplicates may still join
      keys.insert(key);
      taken[i] = true;
      ++count;
    }
    std::vector<Entry> batch;
    batch.reserve(count);
    std::deque<Entry> rest;
    for (std::size_t i = 0; i < queue_.size(); ++i) {
      if (taken[i]) {
        batch.push_back(std::move(queue_[i]));
      } else {
        rest.push_back(std::move(queue_[i]));
      }
    }
    queue_ = std::move(rest);
    return batch;
  }

  std::size_t max_in_flight_;
  std::size_t max_batch_;
  Duplicates duplicates_;
  std::size_t in_flight_ = 0;
  std::deque<Entry> queue_;
};

}  // namespace connpool::firestore::detail
