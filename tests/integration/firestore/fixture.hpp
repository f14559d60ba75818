// Shared fixture: one emulator per binary, a fresh project id (so an empty database) per test,
// and a Client whose pool runs on a 2-thread io_context.
#pragma once

#include "connpool/firestore/firestore.hpp"

#include "support/firestore_emulator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace connpool::firestore {
// Readable gtest failure messages: values and timestamps print as their JSON.
inline void PrintTo(const Value& v, std::ostream* os) {
  *os << dump(to_json(v));
}
inline void PrintTo(const Timestamp& t, std::ostream* os) {
  *os << t.to_rfc3339();
}
inline void PrintTo(const Map& m, std::ostream* os) {
  *os << dump(to_json(m));
}
}  // namespace connpool::firestore

namespace connpool::firestore::test {

/// Runs an io_context on `n` threads until destroyed.
class IoThreads {
 public:
  explicit IoThreads(int n = 2) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
};

inline std::string project_for_current_test() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string id = std::string("t-") + info->test_suite_name() + "-" + info->name();
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) {
    return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
  });
  // A run number keeps --gtest_repeat honest: every repetition starts on an empty database,
  // not on the documents the previous one left behind.
  static std::atomic<int> runs{0};
  return id.substr(0, 54) + "-r" + std::to_string(++runs);
}

class FirestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = testing::FirestoreEmulator::shared();
    ASSERT_NE(emulator_, nullptr) << "the Firestore emulator did not start";
    options_.project_id = project_for_current_test();
    options_.emulator_host = emulator_->host();
    auto c = Client::create(io_.io().get_executor(), options_, pool_config());
    ASSERT_TRUE(c) << c.error().to_string();
    client_.emplace(*c);
  }
  void TearDown() override {
    if (client_) client_->pool().close_blocking(std::chrono::seconds(5));
  }
  virtual core::PoolConfig pool_config() { return default_pool_config(); }

  BlockingClient db() { return client_->blocking(); }
  Client& client() { return *client_; }

  /// Runs a coroutine on the client's executor and waits for it.
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return boost::asio::co_spawn(io_.io(), std::move(task), boost::asio::use_future).get();
  }

  testing::FirestoreEmulator* emulator_ = nullptr;
  FirestoreOptions options_;
  IoThreads io_;
  std::optional<Client> client_;
};

#define ASSERT_OK(expr)                                         \
  do {                                                          \
    const auto& r_ = (expr);                                    \
    ASSERT_TRUE(r_) << #expr << ": " << r_.error().to_string(); \
  } while (0)

}  // namespace connpool::firestore::test
