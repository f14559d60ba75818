// The listener's driver against an in-process Listen server that sends what the emulator cannot
// be made to send: an existence-filter mismatch (the driver listens again without a resume
// token), a REMOVE with a cause (the listener ends with its code), and a stream ending with
// UNAVAILABLE (the driver reconnects and resumes from the last delivered snapshot's token), and a
// message that does not parse on a stream left open (the call is cancelled, then resumed).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224 (Asio frames)

#include "connpool/firestore/client.hpp"

#include "google/firestore/v1/firestore.grpc.pb.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace connpool::firestore {
namespace {

namespace v1 = google::firestore::v1;
using namespace std::chrono_literals;
const std::string kRoot = "projects/p/databases/(default)/documents/";

enum class Scenario { filter_then_remove, unavailable_then_resume, unparsable_then_resume };

class FakeListen final : public v1::Firestore::Service {
 public:
  Scenario scenario = Scenario::filter_then_remove;

  grpc::Status Listen(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ListenResponse, v1::ListenRequest>* stream) override {
    v1::ListenRequest req;
    if (!stream->Read(&req)) return grpc::Status::OK;
    const auto id = req.add_target().target_id();
    int n = 0;
    {
      std::lock_guard lock(mu_);
      tokens_.push_back(req.add_target().resume_token());
      n = static_cast<int>(tokens_.size());
    }
    auto send_target = [&](v1::TargetChange::TargetChangeType type, bool with_id, std::string token,
                           std::int64_t read_time = 0) {
      v1::ListenResponse r;
      auto* tc = r.mutable_target_change();
      tc->set_target_change_type(type);
      if (with_id) tc->add_target_ids(id);
      tc->set_resume_token(std::move(token));
      if (read_time) tc->mutable_read_time()->set_seconds(read_time);
      stream->Write(r);
    };
    auto send_doc = [&](const std::string& doc_id, std::int64_t updated) {
      v1::ListenResponse r;
      auto* dc = r.mutable_document_change();
      dc->add_target_ids(id);
      dc->mutable_document()->set_name(kRoot + "c/" + doc_id);
      dc->mutable_document()->mutable_update_time()->set_seconds(updated);
      stream->Write(r);
    };
    auto consistent = [&](const std::string& token, std::int64_t read_time) {
      send_target(v1::TargetChange::CURRENT, true, token);
      send_target(v1::TargetChange::NO_CHANGE, false, token, read_time);
    };
    auto wait_cancelled = [&](int limit_ms = 10000) {
      for (int i = 0; i < limit_ms / 10 && !ctx->IsCancelled(); ++i) {
        std::this_thread::sleep_for(10ms);
      }
      return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    };
    send_target(v1::TargetChange::ADD, true, "");
    if (scenario == Scenario::filter_then_remove) {
      if (n == 1) {
        send_doc("a", 10);
        send_doc("b", 10);
        consistent("t1", 100);
        v1::ListenResponse f;  // we hold 1 document, the client 2: its view is wrong
        f.mutable_filter()->set_target_id(id);
        f.mutable_filter()->set_count(1);
        stream->Write(f);
        return wait_cancelled();
      }
      send_doc("a", 10);
      consistent("t2", 200);
      v1::ListenResponse rm;
      rm.mutable_target_change()->set_target_change_type(v1::TargetChange::REMOVE);
      rm.mutable_target_change()->add_target_ids(id);
      rm.mutable_target_change()->mutable_cause()->set_code(7);
      rm.mutable_target_change()->mutable_cause()->set_message("no longer allowed");
      stream->Write(rm);
      return wait_cancelled();
    }
    if (scenario == Scenario::unparsable_then_resume) {
      if (n == 1) {
        send_doc("a", 10);
        consistent("t1", 100);
        // A message the client cannot parse (a string field that is not UTF-8), on a stream
        // that stays open: gRPC reports a failed read but no end of call.
        v1::ListenResponse bad;
        bad.mutable_document_change()->add_target_ids(id);
        bad.mutable_document_change()->mutable_document()->set_name(kRoot + "c/\xff\xfe");
        stream->Write(bad);
        return wait_cancelled(60000);  // longer than the test waits: only the client ends it
      }
      send_doc("b", 20);
      consistent("t2", 200);
      return wait_cancelled();
    }
    // unavailable_then_resume
    if (n == 1) {
      send_doc("a", 10);
      consistent("t1", 100);
      send_doc("b", 20);  // not yet consistent when the stream breaks: replayed after resume
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "front end restarting");
    }
    send_doc("b", 20);
    consistent("t2", 200);
    return wait_cancelled();
  }

  std::vector<std::string> tokens() {
    std::lock_guard lock(mu_);
    return tokens_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> tokens_;  // resume token of each Listen request
};

class ListenDriverTest : public ::testing::Test {
 protected:
  void start(Scenario s) {
    service_.scenario = s;
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    thread_ = std::thread([this] { io_.run(); });
    FirestoreOptions o;
    o.project_id = "p";
    o.emulator_host = "127.0.0.1:" + std::to_string(port_);
    o.ping_on_connect = false;
    auto c = Client::create(io_.get_executor(), o);
    ASSERT_TRUE(c) << c.error().to_string();
    client_.emplace(*c);
  }
  void TearDown() override {
    if (client_) client_->pool().close_blocking(2s);
    client_.reset();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }
  Result<Snapshot> next(Listener& l) {
    auto fut = boost::asio::co_spawn(io_, l.next(), boost::asio::use_future);
    if (fut.wait_for(20s) != std::future_status::ready) {
      l.close();
      ADD_FAILURE() << "no snapshot within 20 s";
    }
    return fut.get();
  }
  ListenOptions fast() {
    ListenOptions o;
    o.reconnect.initial = 10ms;
    o.reconnect.max = 100ms;
    return o;
  }

  FakeListen service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread thread_;
  std::optional<Client> client_;
};

TEST_F(ListenDriverTest, ExistenceFilterMismatchRelistensFromScratchAndRemoveEndsTheListener) {
  start(Scenario::filter_then_remove);
  auto l = client_->listen(Query("c"), fast());
  ASSERT_TRUE(l) << l.error().to_string();
  auto s1 = next(*l);
  ASSERT_TRUE(s1) << s1.error().to_string();
  EXPECT_EQ(s1->documents.size(), 2U);
  // The mismatch made the driver listen again without a token; the new stream's snapshot
  // reports the document that vanished.
  auto s2 = next(*l);
  ASSERT_TRUE(s2) << s2.error().to_string();
  ASSERT_EQ(s2->changes.size(), 1U);
  EXPECT_EQ(s2->changes[0].type, DocumentChange::Type::removed);
  EXPECT_EQ(s2->changes[0].document.id, "b");
  EXPECT_EQ(s2->read_time.seconds, 200);
  auto end = next(*l);
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), errc::permission_denied);
  EXPECT_NE(end.error().message().find("no longer allowed"), std::string::npos);
  EXPECT_EQ(service_.tokens(), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(l->reconnects(), 1U);
}

TEST_F(ListenDriverTest, BrokenStreamResumesFromTheLastDeliveredToken) {
  start(Scenario::unavailable_then_resume);
  auto l = client_->listen(Query("c"), fast());
  ASSERT_TRUE(l) << l.error().to_string();
  auto s1 = next(*l);
  ASSERT_TRUE(s1) << s1.error().to_string();
  ASSERT_EQ(s1->documents.size(), 1U);
  auto s2 = next(*l);
  ASSERT_TRUE(s2) << s2.error().to_string();
  ASSERT_EQ(s2->changes.size(), 1U);  // b once, a not again
  EXPECT_EQ(s2->changes[0].document.id, "b");
  EXPECT_EQ(s2->changes[0].type, DocumentChange::Type::added);
  EXPECT_EQ(service_.tokens(), (std::vector<std::string>{"", "t1"}));
  EXPECT_GE(l->reconnects(), 1U);
  l->close();
}

// The stall of issue 19: a read that fails without the call ending (here a message that does
// not parse) left the driver waiting for an OnDone that never came. The call is now cancelled
// after a grace period, and the listener resumes from its token on a new stream.
TEST_F(ListenDriverTest, AMessageThatDoesNotParseEndsTheStreamAndTheListenerResumes) {
  start(Scenario::unparsable_then_resume);
  auto l = client_->listen(Query("c"), fast());
  ASSERT_TRUE(l) << l.error().to_string();
  auto s1 = next(*l);
  ASSERT_TRUE(s1) << s1.error().to_string();
  ASSERT_EQ(s1->documents.size(), 1U);
  auto s2 = next(*l);
  ASSERT_TRUE(s2) << s2.error().to_string();
  ASSERT_EQ(s2->changes.size(), 1U);
  EXPECT_EQ(s2->changes[0].document.id, "b");
  EXPECT_EQ(service_.tokens(), (std::vector<std::string>{"", "t1"}));
  EXPECT_EQ(l->reconnects(), 1U);
  l->close();
}

}  // namespace
}  // namespace connpool::firestore
