// Client: queries (collected and streamed), aggregations and listings.
#include "connpool/firestore/path.hpp"

#include "client_impl.hpp"
#include "convert.hpp"
#include "listing_limits.hpp"
#include "wire_serialization.hpp"

#include <algorithm>
#include <atomic>

namespace connpool::firestore {

namespace detail {

/// State of a streamed query: the channel lease is held until the stream ends or is dropped.
struct QueryStreamImpl {
  std::shared_ptr<ClientImpl> impl;
  Lease lease;
  v1::RunQueryRequest req;
  std::shared_ptr<StreamCall<v1::RunQueryResponse>> call;
  bool finished = false;

  ~QueryStreamImpl() {
    if (call && !finished) call->cancel();
  }
};

namespace {

/// run_query's collector (see Collected): the replies are parsed straight into our Document
/// (wire_document.hpp) and only the documents are kept; messages without one carry only
/// progress (read_time). One reply buffer, reused: push() takes the document out of it.
class QueryDocuments {
 public:
  using Message = WireRunQueryResponse;

  QueryDocuments() = default;
  /// Room for `expected` documents up front (the query's limit, capped): no regrowth for the
  /// usual small result.
  explicit QueryDocuments(std::size_t expected) { docs_.reserve(expected); }

  Message* make() noexcept { return &buf_; }
  void push(Message* m) {
    if (m->document) docs_.push_back(std::move(*m->document));
  }
  std::vector<Document>& documents() noexcept { return docs_; }

 private:
  std::vector<Document> docs_;
  Message buf_;
};

/// The result's size when the query says it (its limit), capped: a limit of a million must not
/// reserve a million documents for a result that may be small.
std::size_t expected_documents(const Query& q) {
  constexpr std::int32_t kMaxReserved = 64;
  const auto limit = q.limit_value();
  return limit && *limit > 0 ? static_cast<std::size_t>(std::min(*limit, kMaxReserved)) : 0;
}

}  // namespace

Task<std::vector<Document>> run_query_in(std::shared_ptr<ClientImpl> impl, Query query,
                                         std::string transaction) {
  v1::RunQueryRequest req;
  if (auto r = query_to_proto(query, impl->root(), *req.mutable_structured_query(),
                              *req.mutable_parent());
      !r) {
    co_return std::move(r).error();
  }
  if (!transaction.empty()) req.set_transaction(transaction);
  const std::string parent = req.parent();
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"RunQuery", Routing::parent, parent, true};
  // The stub's RunQuery is typed on the protobuf reply; the same RPC is started with our reply
  // type, as the generated stub starts it (ClientCallbackReaderFactory).
  auto r = co_await collect_call<QueryDocuments>(
      impl, policy, req,
      [](ChannelState& ch, auto* ctx, auto* rq, auto* reactor) {
        grpc::internal::ClientCallbackReaderFactory<WireRunQueryResponse>::Create(
            ch.channel.get(), ch.wire->run_query, ctx, rq, reactor);
      },
      [expected = expected_documents(query)] { return QueryDocuments(expected); });
  if (!r) co_return std::move(r).error();
  std::vector<Document> out = std::move(r->documents());
  if (query.is_limit_to_last()) std::reverse(out.begin(), out.end());
  co_return out;
}

namespace {

// list_collection_ids' bounds (listing_limits.hpp). Relaxed: each is a lone value, read once
// per listing; a test sets them before it lists.
std::atomic<std::size_t> g_max_collection_id_pages{ListingLimits{}.max_pages};
std::atomic<std::size_t> g_max_collection_ids{ListingLimits{}.max_ids};

Task<QueryStream> stream_impl(std::shared_ptr<ClientImpl> impl, Query query) {
  if (query.is_limit_to_last()) {
    co_return fail(errc::invalid_argument,
                   "stream_query does not support limit_to_last (use run_query)");
  }
  auto s = std::make_shared<QueryStreamImpl>();
  if (auto r = query_to_proto(query, impl->root(), *s->req.mutable_structured_query(),
                              *s->req.mutable_parent());
      !r) {
    co_return std::move(r).error();
  }
  auto lease = co_await impl->acquire();
  if (!lease) co_return std::move(lease).error();
  s->impl = impl;
  s->lease = std::move(*lease);
  s->call = StreamCall<v1::RunQueryResponse>::make();
  prepare_context(s->call->context(), *impl->shared,
                  std::chrono::system_clock::now() + impl->options().call_timeout, Routing::parent,
                  s->req.parent());
  auto* stub = s->lease->state().stub.get();
  const bool started = s->call->begin(
      [&](grpc::ClientContext* ctx, grpc::ClientReadReactor<v1::RunQueryResponse>* r) {
        stub->async()->RunQuery(ctx, &s->req, r);
      },
      impl->shared->calls);
  if (!started) {
    s->finished = true;  // nothing to cancel
    co_return fail(errc::cancelled, "stream_query: the firestore client is closed");
  }
  co_return QueryStream(std::move(s));
}

Task<std::optional<Document>> stream_next(std::shared_ptr<QueryStreamImpl> s) {
  if (!s || s->finished) co_return std::optional<Document>();
  while (auto msg = co_await s->call->next()) {
    if (msg->has_document())
      co_return std::optional<Document>(document_from_proto(msg->document()));
  }
  s->finished = true;
  const auto status = s->call->status();
  s->lease->state().touch();
  s->lease.release();
  if (!status.ok()) co_return status_to_error(status, "RunQuery");
  co_return std::optional<Document>();
}

Task<AggregationResult> aggregate_impl(std::shared_ptr<ClientImpl> impl, Query query,
                                       std::vector<Aggregation> aggregations) {
  if (aggregations.empty()) {
    co_return fail(errc::invalid_argument, "an aggregation query needs at least one aggregation");
  }
  v1::RunAggregationQueryRequest req;
  auto* saq = req.mutable_structured_aggregation_query();
  if (query.is_limit_to_last()) {
    co_return fail(errc::invalid_argument, "aggregations do not support limit_to_last");
  }
  if (auto r = query_to_proto(query, impl->root(), *saq->mutable_structured_query(),
                              *req.mutable_parent());
      !r) {
    co_return std::move(r).error();
  }
  for (const auto& a : aggregations) {
    if (a.alias.empty()) co_return fail(errc::invalid_argument, "an aggregation alias is empty");
    auto* agg = saq->add_aggregations();
    agg->set_alias(a.alias);
    if (a.kind == Aggregation::Kind::count) {
      agg->mutable_count();
      continue;
    }
    auto path = FieldPath::parse(a.field);
    if (!path) {
      co_return std::move(path).error().with_context("in aggregation \"" + a.alias + "\"");
    }
    if (a.kind == Aggregation::Kind::sum) {
      agg->mutable_sum()->mutable_field()->set_field_path(path->to_string());
    } else {
      agg->mutable_avg()->mutable_field()->set_field_path(path->to_string());
    }
  }
  const std::string parent = req.parent();
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"RunAggregationQuery", Routing::parent, parent, true};
  auto r = co_await collect_call<Collected<v1::RunAggregationQueryResponse>>(
      impl, policy, req, [](ChannelState& ch, auto* ctx, auto* rq, auto* reactor) {
        ch.stub->async()->RunAggregationQuery(ctx, rq, reactor);
      });
  if (!r) co_return std::move(r).error();
  AggregationResult out;
  for (const auto* m : r->messages()) {
    if (m->has_result()) {
      for (const auto& [k, v] : m->result().aggregate_fields()) out[k] = from_proto(v);
    }
  }
  co_return out;
}

Task<DocumentPage> list_impl(std::shared_ptr<ClientImpl> impl, std::string collection,
                             std::int32_t page_size, std::string page_token) {
  if (auto c = parse_collection_path(collection); !c) co_return std::move(c).error();
  if (page_size < 0) co_return fail(errc::invalid_argument, "page_size must be >= 0");
  v1::ListDocumentsRequest req;
  const auto slash = collection.rfind('/');
  if (slash == std::string::npos) {
    req.set_parent(impl->root());
    req.set_collection_id(collection);
  } else {
    req.set_parent(impl->root() + "/" + collection.substr(0, slash));
    req.set_collection_id(collection.substr(slash + 1));
  }
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  req.set_show_missing(true);
  // A named local: GCC 12 miscompiles braced lists inside co_await.
  CallPolicy policy{"ListDocuments", Routing::parent, req.parent(), true};
  auto r = co_await unary_call<v1::ListDocumentsResponse>(
      impl, policy, req, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
        stub->async()->ListDocuments(ctx, rq, rs, std::move(done));
      });
  if (!r) co_return std::move(r).error();
  DocumentPage page;
  for (const auto& d : r->documents()) page.documents.push_back(document_from_proto(d));
  page.next_page_token = r->next_page_token();
  co_return page;
}

Task<std::vector<std::string>> collection_ids_impl(std::shared_ptr<ClientImpl> impl,
                                                   std::string parent_document) {
  v1::ListCollectionIdsRequest req;
  if (parent_document.empty()) {
    req.set_parent(impl->root());
  } else {
    auto name = document_name(impl->root(), parent_document);
    if (!name) co_return std::move(name).error();
    req.set_parent(*name);
  }
  const ListingLimits limits = listing_limits();
  std::vector<std::string> out;
  for (std::size_t page = 0;; ++page) {
    // A server that keeps handing out page tokens (broken, hostile, or a token that repeats)
    // must not keep this loop, and its memory, growing forever.
    if (page >= limits.max_pages || out.size() > limits.max_ids) {
      co_return Error(errc::protocol_error,
                      "ListCollectionIds: the server is still paging after " +
                          std::to_string(page) + " pages and " + std::to_string(out.size()) +
                          " ids; stopped (limits: " + std::to_string(limits.max_pages) +
                          " pages, " + std::to_string(limits.max_ids) + " ids)");
    }
    // A named local: GCC 12 miscompiles braced lists inside co_await.
    CallPolicy policy{"ListCollectionIds", Routing::parent, req.parent(), true};
    auto r = co_await unary_call<v1::ListCollectionIdsResponse>(
        impl, policy, req, [](auto* stub, auto* ctx, auto* rq, auto* rs, auto done) {
          stub->async()->ListCollectionIds(ctx, rq, rs, std::move(done));
        });
    if (!r) co_return std::move(r).error();
    for (const auto& id : r->collection_ids()) out.push_back(id);
    if (r->next_page_token().empty()) break;
    if (r->next_page_token() == req.page_token()) {
      co_return Error(errc::protocol_error,
                      "ListCollectionIds: the server returned the same page token twice");
    }
    req.set_page_token(r->next_page_token());
  }
  co_return out;
}

}  // namespace

ListingLimits listing_limits() noexcept {
  return {g_max_collection_id_pages.load(std::memory_order_relaxed),
          g_max_collection_ids.load(std::memory_order_relaxed)};
}

ListingLimits set_listing_limits(ListingLimits limits) noexcept {
  const ListingLimits before = listing_limits();
  g_max_collection_id_pages.store(std::max<std::size_t>(limits.max_pages, 1),
                                  std::memory_order_relaxed);
  g_max_collection_ids.store(std::max<std::size_t>(limits.max_ids, 1), std::memory_order_relaxed);
  return before;
}

}  // namespace detail

QueryStream::QueryStream(std::shared_ptr<detail::QueryStreamImpl> impl) noexcept
    : impl_(std::move(impl)) {}
QueryStream::QueryStream(QueryStream&&) noexcept = default;
QueryStream& QueryStream::operator=(QueryStream&&) noexcept = default;
QueryStream::~QueryStream() = default;

Task<std::optional<Document>> QueryStream::next() {
  return detail::stream_next(impl_);
}

Task<std::vector<Document>> Client::query_documents(std::string collection,
                                                    std::vector<Filter> filters,
                                                    std::vector<OrderBy> order_by,
                                                    std::optional<std::int32_t> limit) {
  Query q(std::move(collection));
  for (auto& f : filters) q.where(std::move(f));
  for (auto& o : order_by) q.order_by(std::move(o.field), o.direction);
  if (limit) q.limit(*limit);
  return detail::run_query_in(impl_, std::move(q), {});
}

Task<std::vector<Document>> Client::run_query(Query query) {
  return detail::run_query_in(impl_, std::move(query), {});
}

Task<QueryStream> Client::stream_query(Query query) {
  return detail::stream_impl(impl_, std::move(query));
}

Task<AggregationResult> Client::aggregate(Query query, std::vector<Aggregation> aggregations) {
  return detail::aggregate_impl(impl_, std::move(query), std::move(aggregations));
}

Task<std::int64_t> Client::count(Query query) {
  return [](std::shared_ptr<detail::ClientImpl> impl, Query q) -> Task<std::int64_t> {
    std::vector<Aggregation> aggs;
    aggs.push_back(Aggregation::count("count"));
    auto r = co_await detail::aggregate_impl(std::move(impl), std::move(q), std::move(aggs));
    if (!r) co_return std::move(r).error();
    const auto it = r->find("count");
    if (it == r->end() || !it->second.get_if<std::int64_t>()) {
      co_return fail(errc::protocol_error, "firestore RunAggregationQuery: no count in the reply");
    }
    co_return it->second.as<std::int64_t>();
  }(impl_, std::move(query));
}

Task<DocumentPage> Client::list_documents(std::string collection, std::int32_t page_size,
                                          std::string page_token) {
  return detail::list_impl(impl_, std::move(collection), page_size, std::move(page_token));
}

Task<std::vector<std::string>> Client::list_collection_ids(std::string parent_document) {
  return detail::collection_ids_impl(impl_, std::move(parent_document));
}

}  // namespace connpool::firestore
