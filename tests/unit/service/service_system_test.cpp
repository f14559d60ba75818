#include "connpool/service/notify.hpp"
#include "connpool/service/urls.hpp"
#include "connpool/service/version.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

namespace connpool::service {
namespace {

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = "/tmp/connpool-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  [[nodiscard]] bool bound() const { return bound_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  std::string receive() {
    std::array<char, 512> buf{};
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SdNotify, SendsTheStateToNotifySocket) {
  NotifySocket socket;
  ASSERT_TRUE(socket.bound());
  ::setenv("NOTIFY_SOCKET", socket.path().c_str(), 1);
  EXPECT_TRUE(sd_notify("READY=1\nSTATUS=serving"));
  EXPECT_EQ(socket.receive(), "READY=1\nSTATUS=serving");
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, DoesNothingOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(sd_notify("READY=1"));
  ::setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify.sock", 1);
  EXPECT_FALSE(sd_notify("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(Version, IsTheCMakeProjectVersion) {
  EXPECT_EQ(connpool::version(), EXPECTED_VERSION);
}

TEST(Urls, ClusterSchemes) {
  EXPECT_TRUE(is_cluster_url("redis-cluster://h1:7000,h2:7001"));
  EXPECT_TRUE(is_cluster_url("rediss-cluster://h1:7000"));
  EXPECT_FALSE(is_cluster_url("redis://h1:6379"));
  EXPECT_FALSE(is_cluster_url("redis-sentinel://s1:26379/mymaster"));
}

}  // namespace
}  // namespace connpool::service
