// A pinned client (MULTI, WATCH) through a Redis Cluster upstream: one exclusive lease on the
// primary owning the first key the client uses, and the one-slot rule of Redis Cluster
// transactions (see cluster_upstream.hpp, docs/proxy.md#redis-cluster-upstream).
#include "connpool/proxy/command_rules.hpp"
#include "connpool/proxy/resp_writer.hpp"

#include "../redis/batch_within.hpp"
#include "cluster_upstream.hpp"

#include <limits>

namespace connpool::proxy::detail {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kDrop = std::numeric_limits<std::size_t>::max();  // reply not shown
constexpr std::string_view kCrossSlot =
    "-CROSSSLOT Keys in request don't hash to the same slot (connpool proxy: a transaction "
    "through a cluster stays in one slot)\r\n";
constexpr std::string_view kExecAbort =
    "-EXECABORT Transaction discarded because of previous errors.\r\n";

// One pinned action: commands go to the lease in runs (one write each), with the replies the
// proxy gives itself (deferred MULTI, CROSSSLOT, EXECABORT) kept in place.
class PinnedRun {
 public:
  PinnedRun(Action& action, ClientRefs& refs, ClusterUpstream& upstream)
      : action_(action),
        refs_(refs),
        upstream_(upstream),
        cluster_(upstream.client()),
        replies_(action.commands.size()) {}

  asio::awaitable<bool> run() {
    auto& pin = refs_.pin;
    auto& commands = action_.commands;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      if (stop_) {
        replies_[i] = *stop_;
        continue;
      }
      const auto& command = commands[i];
      const auto kind = classify(command).kind;
      if (kind == CommandKind::multi && !refs_.pinned) {
        // No key yet, so no node: answered here and sent with the first keyed command.
        replies_[i] = pin.multi_deferred ? "-ERR MULTI calls can not be nested\r\n" : "+OK\r\n";
        pin.multi_deferred = true;
        refs_.metrics.local.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if ((kind == CommandKind::exec || kind == CommandKind::discard) && !refs_.pinned) {
        // Only a deferred MULTI: nothing was queued on a node.
        replies_[i] = kind == CommandKind::discard ? "+OK\r\n"
                      : pin.aborted                ? std::string(kExecAbort)
                                                   : "*0\r\n";
        pin.multi_deferred = pin.aborted = false;
        refs_.metrics.local.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (kind == CommandKind::multi) pin.in_multi = true;
      if (kind == CommandKind::exec || kind == CommandKind::discard) {
        const bool abort = kind == CommandKind::exec && pin.aborted;
        pin.in_multi = pin.aborted = false;
        if (abort) {
          // A command was refused: the transaction is discarded, as Redis does.
          replies_[i] = kExecAbort;
          enqueue({"DISCARD"}, kDrop);
          continue;
        }
        enqueue(command, i);
        continue;
      }
      if (iequals(command.front(), "scan")) {
        co_await scan(command, i);
        continue;
      }
      const auto slot = key_slot(command);
      if (!refs_.pinned) {
        co_await acquire(slot, i);
        if (stop_) continue;
        enqueue(command, i);
        continue;
      }
      if (!slot || on_pinned_slot(*slot)) {
        enqueue(command, i);
        continue;
      }
      if (pin.in_multi || pin.multi_deferred || kind == CommandKind::blocking) {
        // Outside MULTI a blocking command on another slot is refused too: routed normally it
        // would block a shared connection.
        replies_[i] = kCrossSlot;
        pin.aborted = pin.in_multi || pin.multi_deferred;
        refs_.metrics.refuse("cross-slot");
        continue;
      }
      // WATCHing only: a command on another slot is routed as any stateless one, after what
      // is queued for the lease (replies stay in order).
      if (!co_await flush()) {
        replies_[i] = *stop_;
        continue;
      }
      auto reply = co_await cluster_.command(std::vector<std::string>(command));
      if (reply) {
        append_resp(replies_[i], *reply);
        (reply->is_error() ? refs_.metrics.error : refs_.metrics.ok).fetch_add(1);
        check_room();
      } else {
        replies_[i] = failure_line(reply.error());
        refs_.metrics.failed.fetch_add(1);
      }
    }
    co_await flush();
    if (action_.release_after) {
      if (refs_.pinned) {
        refs_.pinned.reset();
        refs_.metrics.pinned.fetch_sub(1);
      }
      pin = {};
    }
    co_return quit_;
  }

  void take(std::string& out) {
    for (auto& r : replies_) out += r;
  }
  /// The replies came to more than the client's output room: nothing is to be sent.
  [[nodiscard]] bool overflowed() const noexcept { return overflow_; }

 private:
  void enqueue(const std::vector<std::string>& command, std::size_t index) {
    const std::vector<std::string_view> views(command.begin(), command.end());
    batch_.add(views);
    dest_.push_back(index);
  }

  // SCAN walks every primary (cluster_scan.hpp): not one node's transaction; while WATCHing
  // only, it runs after what is queued for the lease.
  asio::awaitable<void> scan(const std::vector<std::string>& command, std::size_t index) {
    auto& pin = refs_.pin;
    if (pin.in_multi || pin.multi_deferred) {
      replies_[index] = error_line(
          "ERR connpool proxy: SCAN inside MULTI through a cluster is not supported: it walks "
          "every node (rule: cluster-scan-in-multi)");
      pin.aborted = true;
      refs_.metrics.refuse("cluster-scan-in-multi");
      co_return;
    }
    if (!co_await flush()) {
      replies_[index] = *stop_;
      co_return;
    }
    const auto reply = co_await upstream_.scan(command);
    append_resp(replies_[index], reply);
    (reply.is_error() ? refs_.metrics.error : refs_.metrics.ok).fetch_add(1);
    check_room();
  }

  // The bytes of the replies rendered so far.
  [[nodiscard]] std::size_t rendered() const noexcept {
    std::size_t n = 0;
    for (const auto& r : replies_) n += r.size();
    return n;
  }
  // A reply routed outside the lease (one, bounded by max_reply_bytes) took the client over its
  // output room: the rest of the action is not run.
  void check_room() {
    if (rendered() > refs_.room) set_overflow();
  }
  void set_overflow() {
    overflow_ = true;
    stop_ = std::string();  // the client is cut off: its later commands are not run
  }

  // True when `slot` may use the pinned node: the pin's slot, or the first slot seen on a node
  // pinned by a keyless command (MULTI, PING, ...) when that node owns it.
  bool on_pinned_slot(std::uint16_t slot) {
    auto& pin = refs_.pin;
    if (pin.slot) return *pin.slot == slot;
    const auto owner = cluster_.primary_for_slot(slot);
    if (!owner || *owner != pin.node) return false;
    pin.slot = slot;
    return true;
  }

  asio::awaitable<void> acquire(std::optional<std::uint16_t> slot, std::size_t index) {
    auto& pin = refs_.pin;
    if (!refs_.take_pin_slot()) {
      fail(max_pinned_line(refs_.max_pinned), index, true);
      refs_.metrics.refuse("max-pinned");
      co_return;
    }
    auto got = co_await upstream_.exclusive(slot);
    if (!got) {
      refs_.metrics.pinned.fetch_sub(1);
      fail(failure_line(got.error()), index, true);
      refs_.metrics.failed.fetch_add(1);
      co_return;
    }
    refs_.pinned.emplace(std::move(got->first));
    pin.node = std::move(got->second);
    pin.slot = slot;
    fresh_pin_ = true;
    if (pin.multi_deferred) {
      pin.multi_deferred = false;
      pin.in_multi = true;
      enqueue({"MULTI"}, kDrop);  // answered +OK already
    }
  }

  // From `index` on, every command gets `line`; `forget` drops the session's pinned state
  // (nothing reached a node).
  void fail(std::string line, std::size_t index, bool forget) {
    replies_[index] = line;
    stop_ = std::move(line);
    if (forget) {
      refs_.session.clear_pin();
      refs_.pin = {};
    }
  }

  // Sends what is queued for the lease; false when the pinned connection failed.
  asio::awaitable<bool> flush() {
    if (batch_.empty() || !refs_.pinned) co_return !quit_;
    auto replies = co_await send_batch();
    if (!replies && replies.error().is(errc::resource_exhausted)) {
      // Over the client's output room: it is cut off as a slow reader; the lease is still
      // sound (the rest of the replies was read and dropped) and goes back through the
      // driver's release_pin, which resets the client's server state.
      set_overflow();
      batch_.clear();
      dest_.clear();
      co_return false;
    }
    if (replies && std::exchange(fresh_pin_, false)) {
      if (const auto moved = stale_pin(*replies); moved && co_await repin(*moved)) {
        replies = co_await send_batch();
      }
    }
    auto& lease = *refs_.pinned;
    bool redirected = false;
    if (replies) {
      for (std::size_t k = 0; k < replies->size() && k < dest_.size(); ++k) {
        if (dest_[k] == kDrop) continue;
        auto& reply = (*replies)[k];
        if (const auto redirect = redirect_of(reply, refs_.pin.node)) {
          // The slot moved (or is migrating) under the pinned connection: a non-cluster client
          // cannot follow the redirect, and the server has voided the transaction.
          const bool exec = classify(action_.commands[dest_[k]]).kind == CommandKind::exec;
          reply = redis::Reply::error(exec ? redirect_message(*redirect, "EXECABORT")
                                           : redirect_message(*redirect));
          redirected = true;
        }
        append_resp(replies_[dest_[k]], reply);
        (reply.is_error() ? refs_.metrics.error : refs_.metrics.ok).fetch_add(1);
      }
    }
    if (!replies || lease->broken()) {
      // The transaction / WATCH lived on that connection: the client is disconnected after
      // its replies, as if the server had closed it (as for a plain upstream).
      if (!replies) {
        const std::string line = failure_line(replies.error());
        for (const auto d : dest_) {
          if (d != kDrop) replies_[d] = line;
        }
        stop_ = line;
        refs_.metrics.failed.fetch_add(dest_.size());
      } else {
        stop_ = error_line("ERR connpool proxy: the pinned upstream connection failed");
      }
      lease.discard();
      refs_.pinned.reset();
      refs_.metrics.pinned.fetch_sub(1);
      refs_.session.clear_pin();
      refs_.pin = {};
      quit_ = true;
    }
    batch_.clear();
    dest_.clear();
    if (redirected) co_await cluster_.refresh();  // the next pin goes to the new owner
    co_return !quit_;
  }

  asio::awaitable<Result<std::vector<redis::Reply>>> send_batch() {
    auto& lease = *refs_.pinned;
    std::optional<std::chrono::milliseconds> timeout;
    std::function<void()> stop_watching = [] {};
    if (action_.no_timeout) {
      timeout = std::chrono::milliseconds(0);  // a blocking command waits as asked
      refs_.blocking = true;
      stop_watching = refs_.watch_hangup(*lease);
    }
    // Replies beyond the client's output room are not gathered (ClientRefs::room).
    const std::size_t used = rendered();
    const std::size_t room = refs_.room > used ? refs_.room - used : 0;
    auto replies = co_await redis::detail::execute_within(*lease, batch_, timeout, room);
    stop_watching();
    refs_.blocking = false;
    if (!replies) co_return std::move(replies).error();
    co_return std::move(replies->replies);
  }

  // The MOVED that voids a lease just taken on a stale slot map, when nothing of the batch ran
  // (each command redirected or only queued, the EXEC aborted): the batch may then be sent
  // again to the slot's new owner.
  std::optional<LeaseRedirect> stale_pin(const std::vector<redis::Reply>& replies) const {
    std::optional<LeaseRedirect> moved;
    for (std::size_t k = 0; k < replies.size() && k < dest_.size(); ++k) {
      const auto& reply = replies[k];
      if (auto redirect = redirect_of(reply, refs_.pin.node)) {
        if (redirect->ask || (moved && moved->target != redirect->target)) return std::nullopt;
        moved = std::move(redirect);
      } else if (reply.is_error() ? !reply.str().starts_with("EXECABORT")
                                  : dest_[k] != kDrop && reply.str() != "QUEUED") {
        return std::nullopt;
      }
    }
    return moved;
  }

  // Moves the pin to `moved`'s node (the old connection, maybe inside MULTI, is closed);
  // false, keeping the old lease, when the new node cannot be leased.
  asio::awaitable<bool> repin(const LeaseRedirect& moved) {
    co_await cluster_.refresh();
    auto got = co_await upstream_.exclusive_at(moved.target);
    if (!got) co_return false;
    refs_.pinned->discard();
    refs_.pinned.emplace(std::move(got->first));
    refs_.pin.node = std::move(got->second);
    co_return true;
  }

  Action& action_;
  ClientRefs& refs_;
  ClusterUpstream& upstream_;
  redis::cluster::ClusterClient& cluster_;
  std::vector<std::string> replies_;  // per command, rendered
  redis::RequestBatch batch_;         // queued for the lease
  std::vector<std::size_t> dest_;     // per queued command: its index, or kDrop
  std::optional<std::string> stop_;   // every later command gets this line
  bool quit_ = false;
  bool overflow_ = false;
  bool fresh_pin_ = false;  // the lease was taken in this run and has not been used yet
};

}  // namespace

asio::awaitable<void> ClusterUpstream::pinned(Action& action, ClientRefs& refs,
                                              ClusterOutcome& outcome) {
  PinnedRun run(action, refs, *this);
  outcome.quit = co_await run.run();
  outcome.overflow = run.overflowed();
  if (!outcome.overflow) run.take(outcome.bytes);
}

}  // namespace connpool::proxy::detail
