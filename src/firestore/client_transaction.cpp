// Client::run_transaction and Transaction: read-then-write with automatic retry on contention.
#include "connpool/firestore/path.hpp"

#include "client_impl.hpp"

#include <algorithm>
#include <optional>

namespace connpool::firestore {

namespace detail {
namespace {

Task<void> rollback(std::shared_ptr<ClientImpl> impl, std::string transaction) {
  v1::RollbackRequest req;
  req.set_database(impl->shared->database_name);
  req.set_transaction(transaction);
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"Rollback", Routing::database, impl->shared->database_name, true};
  auto r = co_await unary_call<google::protobuf::Empty>(
      impl, policy, req, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
        stub->async()->Rollback(ctx, rq, rs, std::move(done));
      });
  if (!r) co_return std::move(r).error();
  co_return ok();
}

Task<void> run_transaction_impl(std::shared_ptr<ClientImpl> impl, Client::TransactionFunction fn) {
  if (!fn) co_return fail(errc::invalid_argument, "run_transaction: empty function");
  const std::string& db = impl->shared->database_name;
  core::RetryLimits limits;
  limits.max_attempts =
      static_cast<std::size_t>(std::max(1, impl->options().transaction_max_attempts));
  core::RetryBudget budget(core::Backoff(backoff_policy(impl->options().retry)), limits);
  std::string retry_id;
  for (;;) {
    const int attempt = static_cast<int>(budget.attempts());
    v1::BeginTransactionRequest begin;
    begin.set_database(db);
    // Naming the aborted transaction lets the server give the retry priority on its locks.
    auto* rw = begin.mutable_options()->mutable_read_write();
    if (!retry_id.empty()) rw->set_retry_transaction(retry_id);
    // A named local: GCC 12 miscompiles braced lists inside co_await.
    CallPolicy policy{"BeginTransaction", Routing::database, db, true};
    auto b = co_await unary_call<v1::BeginTransactionResponse>(
        impl, policy, begin, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
          stub->async()->BeginTransaction(ctx, rq, rs, std::move(done));
        });
    if (!b) co_return std::move(b).error();
    Transaction tx = impl->make_transaction(b->transaction(), attempt);
    auto body = co_await fn(tx);
    Error err;
    if (body && ClientImpl::transaction_error(tx)) body = *ClientImpl::transaction_error(tx);
    if (body) {
      auto c = co_await commit_writes(impl, std::move(ClientImpl::transaction_writes(tx)),
                                      b->transaction());
      if (c) co_return ok();
      err = std::move(c).error();
    } else {
      err = std::move(body).error();
      // The function gave up or a read failed: release the server's locks now rather than at
      // the transaction's expiry. A failed rollback changes nothing for the caller.
      auto rb = co_await rollback(impl, b->transaction());
      (void)rb;
    }
    std::optional<std::chrono::nanoseconds> wait;
    if (err.is(errc::aborted)) wait = budget.next_wait(std::chrono::steady_clock::now());
    if (!wait) {
      if (attempt > 1) {
        err = err.with_context("transaction failed after " + std::to_string(attempt) + " attempts");
      }
      co_return err;
    }
    retry_id = b->transaction();
    co_await core::sleep_for(*wait);
  }
}

Result<std::string> tx_path(std::string_view collection, std::string_view id) {
  return document_path(collection, id);
}

}  // namespace
}  // namespace detail

using detail::ClientImpl;

Task<std::optional<Document>> Transaction::get_document(std::string collection, std::string id) {
  auto path = detail::tx_path(collection, id);
  if (!path) {
    return [](Error e) -> Task<std::optional<Document>> { co_return e; }(std::move(path).error());
  }
  return detail::get_document_by_path(impl_, std::move(*path), id_);
}

Task<std::vector<Document>> Transaction::run_query(Query query) {
  return detail::run_query_in(impl_, std::move(query), id_);
}

void Transaction::set(std::string collection, std::string id, Map fields, SetOptions options) {
  auto path = detail::tx_path(collection, id);
  if (!path) {
    bad_write_ = std::move(path).error();
    return;
  }
  add(Write::set(std::move(*path), std::move(fields), std::move(options)));
}

void Transaction::create(std::string collection, std::string id, Map fields) {
  auto path = detail::tx_path(collection, id);
  if (!path) {
    bad_write_ = std::move(path).error();
    return;
  }
  add(Write::create(std::move(*path), std::move(fields)));
}

void Transaction::update(std::string collection, std::string id, Map field_values,
                         std::vector<std::string> deletes) {
  auto path = detail::tx_path(collection, id);
  if (!path) {
    bad_write_ = std::move(path).error();
    return;
  }
  add(Write::update(std::move(*path), std::move(field_values), std::move(deletes)));
}

void Transaction::remove(std::string collection, std::string id) {
  auto path = detail::tx_path(collection, id);
  if (!path) {
    bad_write_ = std::move(path).error();
    return;
  }
  add(Write::remove(std::move(*path)));
}

Task<void> Client::run_transaction(TransactionFunction fn) {
  return detail::run_transaction_impl(impl_, std::move(fn));
}

}  // namespace connpool::firestore
