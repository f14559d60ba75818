// Auto-batching: the callers' side (go out alone, or queue and wait) and the batches' side (one
// BatchGetDocuments or BatchWrite, then each caller answered with its own result).
#include "auto_batch.hpp"

#include "../client_impl.hpp"
#include "../convert.hpp"
#include "../proto_arena.hpp"
#include "../wire_serialization.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace connpool::firestore::detail {

namespace {

using GetResult = Result<std::optional<Document>>;

/// collect_call's collector for BatchGetDocuments: the replies parsed from the wire straight into
/// our Document (wire_document.hpp). One reply buffer, reused: push() moves it out.
class BatchGetReplies {
 public:
  using Message = WireBatchGetResponse;
  Message* make() noexcept { return &buf_; }
  void push(Message* m) { replies_.push_back(std::move(*m)); }
  std::vector<WireBatchGetResponse>& replies() noexcept { return replies_; }

 private:
  std::vector<WireBatchGetResponse> replies_;
  Message buf_;
};

/// The answer for one distinct document of a get batch, and how many callers still want it.
struct GetSlot {
  GetResult result;
  std::size_t callers = 0;
  bool answered = false;
};
using GetSlots = std::unordered_map<std::string_view, GetSlot>;

/// One BatchGetDocuments for every name in `slots` (read retry policy, as a single get); fills
/// each slot: the document, nullopt when missing, the RPC's error for all when it failed.
boost::asio::awaitable<void> fetch(const std::shared_ptr<ClientImpl>& impl, GetSlots& slots) {
  const auto& db = impl->shared->database_name;
  v1::BatchGetDocumentsRequest req;
  req.set_database(db);
  for (const auto& [name, slot] : slots) req.add_documents(std::string(name));
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"BatchGetDocuments", Routing::database, db, true};
  auto r = co_await collect_call<BatchGetReplies>(
      impl, policy, req, [](ChannelState& ch, auto* ctx, auto* rq, auto* reactor) {
        grpc::internal::ClientCallbackReaderFactory<WireBatchGetResponse>::Create(
            ch.channel.get(), ch.wire->batch_get_documents, ctx, rq, reactor);
      });
  if (!r) {
    for (auto& [name, slot] : slots) slot.result = r.error();
    co_return;
  }
  // The server answers each distinct name once, in any order.
  for (auto& reply : r->replies()) {
    const std::string* name = reply.found     ? &reply.found->name
                              : reply.missing ? &*reply.missing
                                              : nullptr;
    if (name == nullptr) continue;  // neither (a progress message)
    const auto it = slots.find(*name);
    if (it == slots.end()) continue;
    it->second.answered = true;
    it->second.result =
        reply.found ? std::optional<Document>(std::move(*reply.found)) : std::optional<Document>();
  }
  for (auto& [name, slot] : slots) {
    if (!slot.answered) {
      slot.result = Error(errc::protocol_error, "firestore BatchGetDocuments: no answer for \"" +
                                                    std::string(name) + "\"");
    }
  }
}

/// Sends a batch of queued gets, answers its callers, and goes on with the next batch the queue
/// hands over, until none is left.
boost::asio::awaitable<void> send_gets(std::shared_ptr<ClientImpl> impl,
                                       std::vector<GetEntry> batch) {
  AutoBatcher& b = *impl->batcher;
  while (!batch.empty()) {
    GetSlots slots;
    for (const auto& e : batch) ++slots[e.key].callers;
    if (slots.size() == 1) {
      // One document (maybe asked by several callers): its ordinary GetDocument.
      auto& slot = slots.begin()->second;
      // Named locals: GCC 12 destroys temporaries built inside a co_await expression twice.
      std::string name = batch.front().key;
      std::string no_transaction;
      slot.result = co_await get_document_by_name(impl, std::move(name), std::move(no_transaction));
    } else {
      b.get_batches.fetch_add(1, std::memory_order_relaxed);
      b.batched_gets.fetch_add(batch.size(), std::memory_order_relaxed);
      co_await fetch(impl, slots);
    }
    for (auto& e : batch) {
      auto& slot = slots.at(e.key);
      // The last caller of a document takes its result, the others a copy.
      e.waiter->set(--slot.callers == 0 ? std::move(slot.result) : GetResult(slot.result));
    }
    std::lock_guard lock(b.mu);
    batch = b.gets.finish();
  }
}

/// One BatchWrite for the writes of `batch` (distinct documents; never retried, as a Commit);
/// answers each caller with its write's own result or error.
boost::asio::awaitable<void> batch_write(const std::shared_ptr<ClientImpl>& impl,
                                         std::vector<WriteEntry>& batch) {
  AutoBatcher& b = *impl->batcher;
  const auto& db = impl->shared->database_name;
  auto arena = make_proto_arena(4096);
  std::unique_ptr<v1::BatchWriteRequest> heap_req;
  auto& req = *create_message(arena.get(), heap_req);
  req.set_database(db);
  std::vector<WriteEntry*> sent;
  sent.reserve(batch.size());
  for (auto& e : batch) {
    if (auto r = write_to_proto(e.write, impl->root(), *req.add_writes()); !r) {
      // A value the server would refuse fails this caller only, as its own Commit would have.
      req.mutable_writes()->RemoveLast();
      e.waiter->set(std::move(r).error());
      continue;
    }
    sent.push_back(&e);
  }
  if (sent.empty()) co_return;
  b.write_batches.fetch_add(1, std::memory_order_relaxed);
  b.batched_writes.fetch_add(sent.size(), std::memory_order_relaxed);
  // Not idempotent in general (transforms, create): never retried, as Commit is not.
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"BatchWrite", Routing::database, db, false};
  auto resp = co_await unary_call<v1::BatchWriteResponse>(
      impl, policy, req, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
        stub->async()->BatchWrite(ctx, rq, rs, std::move(done));
      });
  for (std::size_t i = 0; i < sent.size(); ++i) {
    sent[i]->waiter->set(resp ? batch_write_result(*resp, i, sent.size())
                              : Result<WriteResult>(resp.error()));
  }
}

/// As send_gets, for writes.
boost::asio::awaitable<void> send_writes(std::shared_ptr<ClientImpl> impl,
                                         std::vector<WriteEntry> batch) {
  AutoBatcher& b = *impl->batcher;
  while (!batch.empty()) {
    if (batch.size() == 1) {
      // One write: its ordinary Commit.
      auto r = co_await commit_one(impl, std::move(batch.front().write));
      batch.front().waiter->set(std::move(r));
    } else {
      co_await batch_write(impl, batch);
    }
    std::lock_guard lock(b.mu);
    batch = b.writes.finish();
  }
}

/// Held by a call that went out alone: when it ends, its slot is free, so whatever queued
/// meanwhile goes out now, on its own coroutine (the caller returns at once). A destructor, not a
/// co_await after the call: a cancelled coroutine throws at its next co_await (Asio's
/// throw_if_cancelled), and a slot never given back would strand every call queued behind it.
template <class Entry, class Send>
class SentAlone {
 public:
  SentAlone(std::shared_ptr<ClientImpl> impl, BatchQueue<Entry>& queue, Send send,
            boost::asio::any_io_executor ex)
      : impl_(std::move(impl)), queue_(queue), send_(send), ex_(std::move(ex)) {}
  SentAlone(const SentAlone&) = delete;
  SentAlone& operator=(const SentAlone&) = delete;
  ~SentAlone() {
    std::vector<Entry> next;
    {
      std::lock_guard lock(impl_->batcher->mu);
      next = queue_.finish();
    }
    if (!next.empty()) {
      boost::asio::co_spawn(ex_, send_(std::move(impl_), std::move(next)), boost::asio::detached);
    }
  }

 private:
  std::shared_ptr<ClientImpl> impl_;
  BatchQueue<Entry>& queue_;
  Send send_;
  boost::asio::any_io_executor ex_;
};

/// A queued caller's wait. Cancelling it answers this caller only (`cancelled`): it leaves the
/// queue, or, if its batch is already out, that batch's answer for it is dropped.
template <class T, class Entry>
boost::asio::awaitable<Result<T>> wait_queued(const std::shared_ptr<ClientImpl>& impl,
                                              BatchQueue<Entry>& queue,
                                              const std::shared_ptr<Waiter<T>>& waiter,
                                              const char* rpc) {
  // Raw pointers: the cancellation runs only while this frame (which owns both) waits. A named
  // local: GCC 12 destroys a lambda built inside a co_await expression twice.
  std::function<void()> on_cancel = [b = impl->batcher.get(), &queue, w = waiter.get(), rpc] {
    {
      std::lock_guard lock(b->mu);
      queue.remove_if([w](const Entry& e) { return e.waiter.get() == w; });
    }
    w->set(Error(errc::cancelled, std::string("firestore ") + rpc + ": cancelled"));
  };
  co_return co_await waiter->wait(std::move(on_cancel));
}

}  // namespace

Task<std::optional<Document>> batched_get(std::shared_ptr<ClientImpl> impl, std::string name) {
  AutoBatcher& b = *impl->batcher;
  std::shared_ptr<Waiter<std::optional<Document>>> waiter;
  {
    std::lock_guard lock(b.mu);
    if (!b.gets.try_send_alone()) {
      waiter = std::make_shared<Waiter<std::optional<Document>>>();
      b.gets.enqueue(GetEntry{std::move(name), waiter});
    }
  }
  if (waiter) co_return co_await wait_queued(impl, b.gets, waiter, "GetDocument");
  auto ex = co_await boost::asio::this_coro::executor;
  SentAlone release(impl, b.gets, send_gets, std::move(ex));
  std::string no_transaction;  // a named local: GCC 12 and temporaries inside co_await
  co_return co_await get_document_by_name(impl, std::move(name), std::move(no_transaction));
}

Task<WriteResult> batched_write(std::shared_ptr<ClientImpl> impl, Write write) {
  AutoBatcher& b = *impl->batcher;
  std::shared_ptr<Waiter<WriteResult>> waiter;
  {
    std::lock_guard lock(b.mu);
    if (!b.writes.try_send_alone()) {
      waiter = std::make_shared<Waiter<WriteResult>>();
      std::string key = write.path;
      b.writes.enqueue(WriteEntry{std::move(key), std::move(write), waiter});
    }
  }
  if (waiter) co_return co_await wait_queued(impl, b.writes, waiter, "Commit");
  auto ex = co_await boost::asio::this_coro::executor;
  SentAlone release(impl, b.writes, send_writes, std::move(ex));
  co_return co_await commit_one(impl, std::move(write));
}

}  // namespace connpool::firestore::detail
