// End to end: `connpool serve` answers on its admin port and drains on SIGTERM; `connpool demo`
// starts its own servers, does real work, prints a summary and leaves nothing running.
#include "cli_process.hpp"
#include "support/redis_process.hpp"
#include "support/redis_server.hpp"
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <thread>

namespace connpool::test {
namespace {

using namespace std::chrono_literals;

TEST(CliServe, AnswersOnTheAdminPortAndDrainsOnSigterm) {
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::uint16_t admin = free_loopback_port();
  ServeChild serve({"serve", "--drain-timeout", "5s"},
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

// The admin.* settings reach the server that serve runs: protect_all guards /metrics, and a
// Host name not in admin.allowed_hosts gets 421 (DNS rebinding).
std::string get_with_host(std::uint16_t port, const std::string& path, const std::string& host) {
  const int fd = loopback_connect(port);
  if (fd < 0) return {};
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  std::string out;
  if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(CliServe, AdminSettingsReachTheAdminServer) {
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::uint16_t admin = free_loopback_port();
  ServeChild serve({"serve", "--drain-timeout", "5s", "--set", "admin.protect_all=true", "--set",
                    "admin.allowed_hosts=pools.internal"},
                   {"REDIS_URL=redis://127.0.0.1:" + std::to_string(redis->port()),
                    "CONNPOOL_ADMIN_PORT=" + std::to_string(admin),
                    "CONNPOOL_ADMIN_TOKEN=t0ken-for-test", "HOME=/tmp"});
  std::string health;
  for (int i = 0; i < 200 && health.find("200 OK") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    health = http_get(admin, "/healthz");
  }
  ASSERT_NE(health.find("200 OK"), std::string::npos) << serve.output();
  EXPECT_NE(http_get(admin, "/metrics").find(" 401 "), std::string::npos);
  EXPECT_NE(get_with_host(admin, "/healthz", "rebound.example").find(" 421 "), std::string::npos);
  EXPECT_NE(get_with_host(admin, "/healthz", "pools.internal:9090").find("200 OK"),
            std::string::npos);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(20s), 0) << serve.output();
}

// Under systemd (deploy/systemd/connpool.service, Type=notify) serve says READY=1 once its
// pools exist and the admin endpoint listens, and STOPPING=1 when SIGTERM starts the drain.
TEST(CliServe, NotifiesSystemdWhenReadyAndWhenStopping) {
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::string path = "/tmp/connpool-cli-notify-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval timeout{60, 0};  // generous: a loaded machine may take long to start serve
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  auto receive = [fd] {
    std::array<char, 512> buf{};
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
  };

  const std::uint16_t admin = free_loopback_port();
  ServeChild serve({"serve", "--drain-timeout", "5s"},
                   {"REDIS_URL=redis://127.0.0.1:" + std::to_string(redis->port()),
                    "CONNPOOL_ADMIN_PORT=" + std::to_string(admin), "NOTIFY_SOCKET=" + path});
  const std::string ready = receive();
  EXPECT_EQ(ready.rfind("READY=1\n", 0), 0u) << ready << serve.output();
  // Ready means the admin endpoint already answers.
  EXPECT_NE(http_get(admin, "/healthz").find("200 OK"), std::string::npos) << serve.output();
  serve.signal(SIGTERM);
  EXPECT_EQ(receive(), "STOPPING=1") << serve.output();
  EXPECT_EQ(serve.wait_exit(20s), 0) << serve.output();
  ::close(fd);
  ::unlink(path.c_str());
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

// A redis-server that fails at start: the demo says so, and its temporary directory (which holds
// the server's password file) is gone. The fake server also records what it was given, to show
// the password is in a private file and never on the command line.
TEST(CliDemo, RemovesItsTemporaryDirectoryWhenRedisFailsToStart) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("connpool-demo-fail-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  const auto bin = root / "bin";
  const auto tmp = root / "tmp";
  const auto seen = root / "seen";
  std::filesystem::create_directories(bin);
  std::filesystem::create_directories(tmp);
  std::filesystem::create_directories(seen);
  const auto fake = bin / "redis-server";
  {
    std::ofstream script(fake);
    script << "#!/bin/sh\n"
           << "echo \"$@\" > '" << (seen / "argv").string() << "'\n"
           << "cp \"$1\" '" << (seen / "conf").string() << "'\n"
           << "stat -c %a \"$1\" > '" << (seen / "conf_mode").string() << "'\n"
           << "stat -c %a \"$(dirname \"$1\")\" > '" << (seen / "dir_mode").string() << "'\n"
           << "echo 'fake redis-server: refusing to start' >&2\n"
           << "exit 1\n";
  }
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  const std::map<std::string, std::string> env = {
      {"PATH", bin.string() + ":/usr/local/bin:/usr/bin:/bin"}, {"TMPDIR", tmp.string()}};
  auto r = run_connpool({"demo", "--duration", "1"}, env, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("redis-server exited at start"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "left behind in " << tmp;

  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string conf = slurp(seen / "conf");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(conf, m, std::regex(R"(requirepass ([0-9a-f]{32}))"))) << conf;
  const std::string password = m[1];
  EXPECT_EQ(slurp(seen / "argv").find(password), std::string::npos);
  EXPECT_EQ(slurp(seen / "conf_mode"), "600\n");
  EXPECT_EQ(slurp(seen / "dir_mode"), "700\n");
  EXPECT_EQ(r.out.find(password), std::string::npos);
  EXPECT_EQ(r.err.find(password), std::string::npos);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace connpool::test
