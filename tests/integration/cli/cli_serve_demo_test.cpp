// End to end: `connpool serve` answers on its admin port and drains on SIGTERM; `connpool demo`
// starts its own servers, does real work, prints a summary and leaves nothing running.
#include "cli_process.hpp"
#include "support/redis_process.hpp"
#include "support/redis_server.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;

// Blocking HTTP GET on loopback; returns the whole response ("" when nothing answers).
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) < 0) {
    ::close(fd);
    return {};
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child `connpool` that runs until signalled; output goes to a file.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env)
      : log_("/tmp/connpool-cli-test-" + std::to_string(::getpid()) + ".log") {
    std::vector<std::string> argv = {CONNPOOL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      std::vector<std::string> envs = env;
      envs.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
      std::vector<char*> e;
      for (auto& s : envs) e.push_back(s.data());
      e.push_back(nullptr);
      ::execve(a[0], a.data(), e.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(log_.c_str());
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // Exit code, or -1 if it had not exited within `limit` (or died by a signal).
  int wait_exit(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }
  [[nodiscard]] std::string output() const { return read_file(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

TEST(CliServe, AnswersOnTheAdminPortAndDrainsOnSigterm) {
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::uint16_t admin = free_loopback_port();
  Child serve({"serve", "--drain-timeout", "5s"},
              {"REDIS_URL=redis://127.0.0.1:" + std::to_string(redis->port()),
               "CONNPOOL_ADMIN_PORT=" + std::to_string(admin), "HOME=/tmp"});
  std::string health;
  for (int i = 0; i < 200 && health.find("200 OK") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    health = http_get(admin, "/healthz");
  }
  ASSERT_NE(health.find("200 OK"), std::string::npos) << serve.output();

  const std::string pools = http_get(admin, "/api/v1/admin/connection-pools");
  EXPECT_NE(pools.find("\"name\":\"redis\""), std::string::npos) << pools;
  const std::string metrics = http_get(admin, "/metrics");
  EXPECT_NE(metrics.find("connection_pool_size{"), std::string::npos);
  EXPECT_NE(metrics.find("pool=\"redis\""), std::string::npos);
  // The pool warms up to the development profile's min_size (5) and reports ready.
  std::string ready;
  for (int i = 0; i < 100 && ready.find("200 OK") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    ready = http_get(admin, "/readyz");
  }
  EXPECT_NE(ready.find("200 OK"), std::string::npos) << ready;

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(20s), 0) << serve.output();
  const std::string log = serve.output();
  EXPECT_NE(log.find("received SIGTERM: draining pools"), std::string::npos) << log;
  EXPECT_NE(log.find("drained"), std::string::npos) << log;
  EXPECT_FALSE(connpool::test::loopback_accepts(admin)) << "admin port still open after exit";
}

TEST(CliServe, SaysSoWhenNoPoolsAreConfigured) {
  auto r = run_connpool({"serve"}, {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no pools configured"), std::string::npos) << r.err;
}

TEST(CliDemo, RunsEndToEndWithItsOwnServersAndLeavesNothingRunning) {
  auto r = run_connpool({"demo", "--duration", "10"}, {}, std::chrono::seconds(180));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(jobs created (\d+), done (\d+))")))
      << r.out;
  EXPECT_GT(std::stol(m[2]), 0) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(cache hits (\d+), misses (\d+))")))
      << r.out;
  EXPECT_GT(std::stol(m[1]), 0) << r.out;
  EXPECT_NE(r.out.find("errors 0"), std::string::npos) << r.out;

  // The servers it started are gone: their ports no longer accept connections.
  std::smatch redis_port;
  ASSERT_TRUE(
      std::regex_search(r.out, redis_port, std::regex(R"(redis-server \.\.\. port (\d+))")));
  EXPECT_FALSE(
      connpool::test::loopback_accepts(static_cast<std::uint16_t>(std::stoi(redis_port[1]))));
  std::smatch fs_port;
  ASSERT_TRUE(std::regex_search(r.out, fs_port, std::regex(R"(emulator \.\.\. port (\d+))")));
  EXPECT_FALSE(connpool::test::loopback_accepts(static_cast<std::uint16_t>(std::stoi(fs_port[1]))));
}

}  // namespace
}  // namespace connpool::test
