// The client against a tiny in-process Firestore server: the metadata every call carries,
// deadlines, retries of idempotent calls only, cancellation, and status mapping.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224 (Asio frames)

#include "connpool/firestore/client.hpp"

#include "firestore/listing_limits.hpp"
#include "google/firestore/v1/firestore.grpc.pb.h"
#include "support/sanitizer_factor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace connpool::firestore {
namespace {

namespace v1 = google::firestore::v1;

/// Records what it receives; behaviour is scripted per test.
class FakeFirestore final : public v1::Firestore::Service {
 public:
  struct Seen {
    std::multimap<std::string, std::string> metadata;
    std::chrono::system_clock::time_point deadline;
    std::string name;
  };

  grpc::Status GetDocument(grpc::ServerContext* ctx, const v1::GetDocumentRequest* req,
                           v1::Document* resp) override {
    record(ctx, req->name());
    if (req->name().ends_with("/_connpool/ping"))
      return {grpc::StatusCode::NOT_FOUND, "no ping doc"};
    if (req->name().ends_with("/slow/x")) {
      slow_started = true;
      while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      cancelled_seen = true;
      return grpc::Status::CANCELLED;
    }
    if (unavailable_left.fetch_sub(1) > 0) return {grpc::StatusCode::UNAVAILABLE, "try later"};
    if (req->name().ends_with("/perm/x")) {
      return {grpc::StatusCode::PERMISSION_DENIED, "Missing or insufficient permissions."};
    }
    resp->set_name(req->name());
    (*resp->mutable_fields())["k"].set_string_value("v");
    resp->mutable_update_time()->set_seconds(5);
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext* ctx, const v1::CommitRequest* req,
                      v1::CommitResponse*) override {
    record(ctx, req->database());
    ++commits;
    return {grpc::StatusCode::UNAVAILABLE, "commit unavailable"};
  }

  grpc::Status RunQuery(grpc::ServerContext* ctx, const v1::RunQueryRequest* req,
                        grpc::ServerWriter<v1::RunQueryResponse>* w) override {
    record(ctx, req->parent());
    ++queries;
    if (query_unavailable_left.fetch_sub(1) > 0) {
      return {grpc::StatusCode::UNAVAILABLE, "query unavailable"};
    }
    const auto& from = req->structured_query().from();
    const std::string collection = from.empty() ? "" : from[0].collection_id();
    if (collection == "flaky" && flaky_queries.fetch_add(1) == 0) {
      // One document, then the stream breaks: the client must not keep (or repeat) it.
      v1::RunQueryResponse r;
      r.mutable_document()->set_name(req->parent() + "/flaky/d0");
      w->Write(r);
      return {grpc::StatusCode::UNAVAILABLE, "stream broke"};
    }
    if (collection == "slowq") {
      v1::RunQueryResponse r;
      r.mutable_document()->set_name(req->parent() + "/slowq/d0");
      w->Write(r);
      slow_started = true;
      while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      cancelled_seen = true;
      return grpc::Status::CANCELLED;
    }
    for (int i = 0; i < 3; ++i) {
      v1::RunQueryResponse r;
      r.mutable_document()->set_name(req->parent() + "/c/d" + std::to_string(i));
      w->Write(r);
      if (query_breaks_after_first) return {grpc::StatusCode::UNAVAILABLE, "broke mid-stream"};
    }
    v1::RunQueryResponse last;  // progress-only message: no document
    last.mutable_read_time()->set_seconds(1);
    w->Write(last);
    return grpc::Status::OK;
  }

  // A hostile listing: "docs/same" hands out the same page token forever, "docs/endless" a new
  // one forever (endless_page_ids ids a page), "docs/trickle" a new one forever with one id a
  // page; anything else lists one page.
  grpc::Status ListCollectionIds(grpc::ServerContext* ctx, const v1::ListCollectionIdsRequest* req,
                                 v1::ListCollectionIdsResponse* resp) override {
    record(ctx, req->parent());
    ++list_pages;
    if (req->parent().ends_with("/docs/same")) {
      resp->add_collection_ids("c");
      resp->set_next_page_token("same-token");
    } else if (req->parent().ends_with("/docs/endless")) {
      const int page = list_pages.load();
      const int ids = endless_page_ids.load();
      for (int i = 0; i < ids; ++i) resp->add_collection_ids("c" + std::to_string(i));
      resp->set_next_page_token("t" + std::to_string(page));
    } else if (req->parent().ends_with("/docs/trickle")) {
      resp->add_collection_ids("c");
      resp->set_next_page_token("t" + std::to_string(list_pages.load()));
    } else {
      resp->add_collection_ids("only");
    }
    return grpc::Status::OK;
  }

  // Auto-batched gets: names ending in "/missing" do not exist; every request's names are kept.
  grpc::Status BatchGetDocuments(grpc::ServerContext* ctx, const v1::BatchGetDocumentsRequest* req,
                                 grpc::ServerWriter<v1::BatchGetDocumentsResponse>* w) override {
    record(ctx, req->database());
    {
      std::lock_guard lock(mu_);
      batch_gets_.emplace_back(req->documents().begin(), req->documents().end());
    }
    for (const auto& name : req->documents()) {
      v1::BatchGetDocumentsResponse r;
      if (name.ends_with("/missing")) {
        r.set_missing(name);
      } else {
        r.mutable_found()->set_name(name);
        (*r.mutable_found()->mutable_fields())["k"].set_string_value("v");
      }
      w->Write(r);
    }
    return grpc::Status::OK;
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::vector<std::vector<std::string>> batch_gets() {
    std::lock_guard lock(mu_);
    return batch_gets_;
  }

  std::atomic<int> unavailable_left{0};
  std::atomic<int> queries{0};
  std::atomic<int> query_unavailable_left{0};
  std::atomic<bool> query_breaks_after_first{false};
  std::atomic<int> commits{0};
  std::atomic<int> list_pages{0};
  std::atomic<int> endless_page_ids{20000};
  std::atomic<int> flaky_queries{0};
  std::atomic<bool> cancelled_seen{false};
  std::atomic<bool> slow_started{false};  // a slow call has reached the server

 private:
  void record(grpc::ServerContext* ctx, const std::string& name) {
    Seen s;
    for (const auto& [k, v] : ctx->client_metadata()) {
      s.metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    s.deadline = ctx->deadline();
    s.name = name;
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(s));
  }
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::vector<std::vector<std::string>> batch_gets_;
};

// Sets list_collection_ids' limits for one test and restores the previous ones after it.
class ListingLimitsGuard {
 public:
  explicit ListingLimitsGuard(detail::ListingLimits limits)
      : before_(detail::set_listing_limits(limits)) {}
  ~ListingLimitsGuard() { detail::set_listing_limits(before_); }
  ListingLimitsGuard(const ListingLimitsGuard&) = delete;
  ListingLimitsGuard& operator=(const ListingLimitsGuard&) = delete;

 private:
  detail::ListingLimits before_;
};

class RpcTest : public ::testing::Test {
 protected:
  // The server learns of a client's cancellation asynchronously (the RST_STREAM goes through
  // gRPC's threads): give it 2 s, times the sanitizer factor.
  bool server_saw_cancellation() {
    const auto until =
        std::chrono::steady_clock::now() + connpool::test::scaled(std::chrono::seconds(2));
    while (!service_.cancelled_seen.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return service_.cancelled_seen.load();
  }

  // Completes once a slow call is inside the fake server (so a cancellation has a call on the
  // server to reach), or after 10 s times the sanitizer factor. A fixed 200 ms timer raced the
  // call's arrival: under TSan on a loaded machine it fired before the call was sent.
  static boost::asio::awaitable<void> slow_call_started(const std::atomic<bool>& started) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    const auto until =
        std::chrono::steady_clock::now() + connpool::test::scaled(std::chrono::seconds(10));
    while (!started.load() && std::chrono::steady_clock::now() < until) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(boost::asio::use_awaitable);
    }
  }

  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { io_.run(); });
    FirestoreOptions o;
    o.project_id = "p";
    o.emulator_host = "127.0.0.1:" + std::to_string(port_);
    o.retry.initial_backoff = std::chrono::milliseconds(1);
    o.retry.max_backoff = std::chrono::milliseconds(5);
    o.call_timeout = std::chrono::milliseconds(10000);
    auto c = Client::create(io_.get_executor(), o);
    ASSERT_TRUE(c) << c.error().to_string();
    client_.emplace(*c);
  }
  void TearDown() override {
    if (client_) client_->pool().close_blocking(std::chrono::seconds(2));
    client_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
    server_->Shutdown();
  }

  FakeFirestore service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread thread_;
  std::optional<Client> client_;
};

std::string header(const FakeFirestore::Seen& s, const std::string& key) {
  auto it = s.metadata.find(key);
  return it == s.metadata.end() ? "<missing>" : it->second;
}

TEST_F(RpcTest, EveryCallCarriesRoutingHeadersAuthAndADeadline) {
  auto d = client_->blocking().get_document("users", "alice");
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->fields.at("k"), Value("v"));
  auto q = client_->blocking().run_query(Query("users").limit(3));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->size(), 3u);  // the progress-only message is not a document

  const auto seen = service_.seen();
  ASSERT_GE(seen.size(), 3u);  // ping on connect, GetDocument, RunQuery
  for (const auto& s : seen) {
    EXPECT_EQ(header(s, "google-cloud-resource-prefix"), "projects/p/databases/(default)")
        << s.name;
    EXPECT_EQ(header(s, "authorization"), "Bearer owner") << s.name;
    EXPECT_LT(s.deadline, std::chrono::system_clock::now() + std::chrono::seconds(60)) << s.name;
  }
  const auto& get = seen[seen.size() - 2];
  EXPECT_EQ(get.name, "projects/p/databases/(default)/documents/users/alice");
  EXPECT_EQ(header(get, "x-goog-request-params"),
            "name=projects%2Fp%2Fdatabases%2F%28default%29%2Fdocuments%2Fusers%2Falice");
  const auto& query = seen.back();
  EXPECT_EQ(header(query, "x-goog-request-params"),
            "parent=projects%2Fp%2Fdatabases%2F%28default%29%2Fdocuments");
}

TEST_F(RpcTest, IdempotentReadsAreRetriedOnUnavailable) {
  service_.unavailable_left = 2;
  auto d = client_->blocking().get_document("users", "alice");
  ASSERT_TRUE(d) << d.error().to_string();
  // Count only this document's calls (the pool's ping may land at any moment).
  std::size_t calls = 0;
  for (const auto& s : service_.seen()) calls += s.name.ends_with("/users/alice") ? 1 : 0;
  EXPECT_EQ(calls, 3u);  // two UNAVAILABLE, then OK
}

// Streamed reads go through the same core::retry loop as unary calls, but only until a message
// was delivered: a stream retried after that would hand the caller documents twice.
TEST_F(RpcTest, StreamedReadsAreRetriedOnlyBeforeTheFirstMessage) {
  service_.query_unavailable_left = 2;
  auto q = client_->blocking().run_query(Query("users"));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->size(), 3u);
  EXPECT_EQ(service_.queries.load(), 3);  // two UNAVAILABLE, then the stream

  // stream_query hands documents over as they come: once one was delivered, a break is the
  // caller's error, not a retry. (run_query collects the whole stream first, so it may retry
  // whole: AQueryStreamThatBreaksHalfwayIsRetriedWholeWithoutRepeats.)
  service_.queries = 0;
  service_.query_breaks_after_first = true;
  auto read_all = [](Client c) -> boost::asio::awaitable<std::pair<int, Error>> {
    auto stream = co_await c.stream_query(Query("users"));
    if (!stream) co_return std::pair{0, stream.error()};
    int docs = 0;
    for (;;) {
      auto d = co_await stream->next();
      if (!d) co_return std::pair{docs, d.error()};
      if (!*d) co_return std::pair{docs, Error(errc::unknown, "the stream ended without error")};
      ++docs;
    }
  };
  const auto [docs, err] =
      boost::asio::co_spawn(io_, read_all(*client_), boost::asio::use_future).get();
  EXPECT_EQ(docs, 1);
  EXPECT_EQ(err.code(), errc::unavailable) << err.to_string();
  EXPECT_EQ(service_.queries.load(), 1);
}

TEST_F(RpcTest, RetriesStopAtMaxAttemptsWithTheLastError) {
  service_.unavailable_left = 100;
  auto d = client_->blocking().get_document("users", "alice");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), errc::unavailable);
  EXPECT_NE(d.error().message().find("after 5 attempts"), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("try later"), std::string::npos);
}

TEST_F(RpcTest, WritesAreNeverRetried) {
  auto w = client_->blocking().set_document("users", "alice", Map{{"a", 1}});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), errc::unavailable);
  EXPECT_EQ(service_.commits.load(), 1);
  std::vector<Write> batch;
  batch.push_back(Write::set("database/x", Map{}));
  auto seen_before = service_.seen().size();
  ASSERT_FALSE(client_->blocking().commit(batch));
  const auto seen = service_.seen();
  ASSERT_EQ(seen.size(), seen_before + 1);
  EXPECT_EQ(header(seen.back(), "x-goog-request-params"),
            "database=projects%2Fp%2Fdatabases%2F%28default%29");
}

TEST_F(RpcTest, StatusCodesAndServerMessagesAreKept) {
  auto d = client_->blocking().get_document("perm", "x");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), errc::permission_denied);
  EXPECT_EQ(d.error().message(),
            "firestore GetDocument: PERMISSION_DENIED: Missing or insufficient permissions.");
}

TEST_F(RpcTest, CancellingTheAwaitingCoroutineCancelsTheRpc) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto task = [this](Client c) -> boost::asio::awaitable<int> {
    auto r = co_await (c.get_document("slow", "x") || slow_call_started(service_.slow_started));
    co_return static_cast<int>(r.index());
  };
  const auto winner = boost::asio::co_spawn(io_, task(*client_), boost::asio::use_future).get();
  ASSERT_TRUE(service_.slow_started.load()) << "the slow GetDocument never reached the server";
  EXPECT_EQ(winner, 1);  // the server had the call; the RPC was cancelled
  EXPECT_TRUE(server_saw_cancellation()) << "the server never saw the cancellation";
  EXPECT_EQ(client_->pool().stats().leases, 0u);
}

// run_query reads the whole stream before it resumes the caller (collect_call): a stream that
// broke after a document is retried whole, and the caller sees each document once.
TEST_F(RpcTest, AQueryStreamThatBreaksHalfwayIsRetriedWholeWithoutRepeats) {
  auto q = client_->blocking().run_query(Query("flaky"));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(service_.flaky_queries.load(), 2);
  ASSERT_EQ(q->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*q)[i].id, "d" + std::to_string(i));
}

TEST_F(RpcTest, CancellingTheAwaitingCoroutineCancelsAQuery) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto task = [this](Client c) -> boost::asio::awaitable<int> {
    auto r = co_await (c.run_query(Query("slowq")) || slow_call_started(service_.slow_started));
    co_return static_cast<int>(r.index());
  };
  const auto winner = boost::asio::co_spawn(io_, task(*client_), boost::asio::use_future).get();
  ASSERT_TRUE(service_.slow_started.load()) << "the slow RunQuery never reached the server";
  EXPECT_EQ(winner, 1);  // the server had the query; it was cancelled
  EXPECT_TRUE(server_saw_cancellation()) << "the server never saw the cancellation";
  EXPECT_EQ(client_->pool().stats().leases, 0u);
}

// Auto-batching, in a fixed order: a get the server holds occupies the one slot, three gets
// queue behind it (one document twice, one missing), a fourth queues and is cancelled by its
// timer. The cancelled one ends alone with the timer; when the held get ends, the others go out
// as one BatchGetDocuments that asks each remaining document once.
TEST_F(RpcTest, AQueuedGetCancelledWhileWaitingEndsAloneAndTheBatchAnswersTheOthers) {
  using namespace boost::asio::experimental::awaitable_operators;
  FirestoreOptions o = client_->options();
  o.auto_batch.max_in_flight = 1;
  auto batching = Client::create(io_.get_executor(), o);
  ASSERT_TRUE(batching) << batching.error().to_string();
  using Got = Result<std::optional<Document>>;
  struct Outcome {
    int held = -1;       // which branch won for the held get (1: its timer)
    int cancelled = -1;  // which branch won for the queued get (1: its timer)
    std::vector<Got> others;
  };
  auto task = [](Client c) -> boost::asio::awaitable<Outcome> {
    const auto ex = co_await boost::asio::this_coro::executor;
    Outcome out;
    // A parameter, not a lambda capture: the coroutine outlives the lambda object.
    auto hold = [](Client c) -> boost::asio::awaitable<int> {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                  std::chrono::milliseconds(400));
      auto r = co_await (c.get_document("slow", "x") || t.async_wait(boost::asio::use_awaitable));
      co_return static_cast<int>(r.index());
    };
    auto held = boost::asio::co_spawn(ex, hold(c), boost::asio::use_future);
    co_await boost::asio::post(ex, boost::asio::use_awaitable);  // the held get takes the slot
    std::vector<std::future<Got>> others;
    for (const char* id : {"a", "missing", "a"}) {
      others.push_back(
          boost::asio::co_spawn(ex, c.get_document("users", id), boost::asio::use_future));
    }
    boost::asio::steady_timer t(ex, std::chrono::milliseconds(50));
    auto r = co_await (c.get_document("users", "c") || t.async_wait(boost::asio::use_awaitable));
    out.cancelled = static_cast<int>(r.index());
    for (auto& f : others) {
      while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        boost::asio::steady_timer w(ex, std::chrono::milliseconds(5));
        co_await w.async_wait(boost::asio::use_awaitable);
      }
      out.others.push_back(f.get());
    }
    while (held.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      boost::asio::steady_timer w(ex, std::chrono::milliseconds(5));
      co_await w.async_wait(boost::asio::use_awaitable);
    }
    out.held = held.get();
    co_return out;
  };
  const auto out = boost::asio::co_spawn(io_, task(*batching), boost::asio::use_future).get();
  EXPECT_EQ(out.held, 1);
  EXPECT_EQ(out.cancelled, 1) << "the queued get was answered before its timer";
  ASSERT_EQ(out.others.size(), 3u);
  for (int i : {0, 2}) {
    ASSERT_TRUE(out.others[i]) << out.others[i].error().to_string();
    ASSERT_TRUE(out.others[i]->has_value());
    EXPECT_EQ((*out.others[i])->id, "a");
    EXPECT_EQ((*out.others[i])->fields.at("k"), Value("v"));
  }
  ASSERT_TRUE(out.others[1]) << out.others[1].error().to_string();
  EXPECT_FALSE(out.others[1]->has_value());
  const auto batches = service_.batch_gets();
  ASSERT_EQ(batches.size(), 1u);
  std::vector<std::string> names = batches[0];
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"projects/p/databases/(default)/documents/users/a",
                                      "projects/p/databases/(default)/documents/users/missing"}));
  const auto stats = batching->auto_batch_stats();
  EXPECT_EQ(stats.get_batches, 1u);
  EXPECT_EQ(stats.batched_gets, 3u);
  batching->pool().close_blocking(std::chrono::seconds(2));
}

TEST_F(RpcTest, ListCollectionIdsStopsOnAServerThatNeverStopsPaging) {
  auto one = client_->blocking().list_collection_ids("docs/one");
  ASSERT_TRUE(one) << one.error().to_string();
  EXPECT_EQ(*one, std::vector<std::string>{"only"});

  service_.list_pages = 0;
  auto same = client_->blocking().list_collection_ids("docs/same");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code(), errc::protocol_error);
  EXPECT_NE(same.error().message().find("same page token"), std::string::npos)
      << same.error().message();
  EXPECT_EQ(service_.list_pages.load(), 2);

  // The id bound. Release keeps the real limit (a million ids, 20000 a page: 51 pages). Under a
  // sanitizer every id gRPC frees costs a suppressed TSan report, and a million of them take
  // longer than ctest's timeout: 1000 ids at 100 a page there (11 pages), the same path.
  const bool small = connpool::test::kSanitizerFactor > 1;
  const detail::ListingLimits real;
  const std::size_t max_ids = small ? 1000 : real.max_ids;
  const int page_ids = small ? 100 : 20000;
  const ListingLimitsGuard guard({real.max_pages, max_ids});
  service_.endless_page_ids = page_ids;
  service_.list_pages = 0;
  auto endless = client_->blocking().list_collection_ids("docs/endless");
  ASSERT_FALSE(endless);
  EXPECT_EQ(endless.error().code(), errc::protocol_error);
  EXPECT_NE(endless.error().message().find("still paging"), std::string::npos)
      << endless.error().message();
  EXPECT_NE(endless.error().message().find(std::to_string(max_ids) + " ids)"), std::string::npos)
      << endless.error().message();
  EXPECT_EQ(service_.list_pages.load(), static_cast<int>(max_ids) / page_ids + 1);
}

// The page bound, lowered (the real 10000 one-id pages would be 10000 RPCs): exactly that many
// pages are fetched, then the listing fails and says which limit stopped it.
TEST_F(RpcTest, ListCollectionIdsStopsAtThePageLimit) {
  const ListingLimitsGuard guard({20, detail::ListingLimits{}.max_ids});
  service_.list_pages = 0;
  auto trickle = client_->blocking().list_collection_ids("docs/trickle");
  ASSERT_FALSE(trickle);
  EXPECT_EQ(trickle.error().code(), errc::protocol_error);
  EXPECT_NE(trickle.error().message().find("still paging after 20 pages and 20 ids"),
            std::string::npos)
      << trickle.error().message();
  EXPECT_EQ(service_.list_pages.load(), 20);
}

TEST(RpcNoServer, ConnectFailureIsUnavailable) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread t([&io] { io.run(); });
  FirestoreOptions o;
  o.project_id = "p";
  o.emulator_host = "127.0.0.1:1";
  o.retry.max_attempts = 1;
  auto cfg = default_pool_config();
  cfg.min_size = 0;
  cfg.acquire_timeout = std::chrono::milliseconds(2000);
  auto c = Client::create(io.get_executor(), o, cfg);
  ASSERT_TRUE(c);
  auto d = c->blocking().get_document("users", "alice");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), errc::unavailable) << d.error().to_string();
  EXPECT_NE(d.error().message().find("127.0.0.1:1"), std::string::npos) << d.error().to_string();
  c->pool().close_blocking(std::chrono::seconds(1));
  work.reset();
  io.stop();
  t.join();
}

}  // namespace
}  // namespace connpool::firestore
