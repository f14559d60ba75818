#include "support/firestore_emulator.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace connpool::testing {
namespace {

// Process groups to kill if the test process dies abnormally (signal handlers read these).
constexpr int kMaxGroups = 8;
std::array<std::atomic<pid_t>, kMaxGroups> g_groups{};

void kill_all_groups() noexcept {
  for (auto& g : g_groups) {
    const pid_t p = g.exchange(0);
    if (p > 0) ::kill(-p, SIGKILL);
  }
}

extern "C" void on_fatal_signal(int sig) {
  kill_all_groups();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_guard_once() {
  static const bool installed = [] {
    std::atexit(kill_all_groups);
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGINT, SIGTERM, SIGHUP}) {
      std::signal(sig, on_fatal_signal);
    }
    return true;
  }();
  (void)installed;
}

void remember_group(pid_t p) {
  for (auto& g : g_groups) {
    pid_t expected = 0;
    if (g.compare_exchange_strong(expected, p)) return;
  }
}

void forget_group(pid_t p) {
  for (auto& g : g_groups) {
    pid_t expected = p;
    g.compare_exchange_strong(expected, 0);
  }
}

std::string run_capture(const char* cmd) {
  std::string out;
  if (FILE* f = ::popen(cmd, "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, f)) out += buf;
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string sdk_root() {
  if (const char* env = std::getenv("CONNPOOL_GCLOUD_SDK_ROOT"); env && *env) return env;
  auto root = run_capture("gcloud info --format='value(installation.sdk_root)' 2>/dev/null");
  if (root.empty()) root = "/usr/lib/google-cloud-sdk";
  return root;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool file_contains(const std::string& path, const char* needle) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find(needle) != std::string::npos;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

}  // namespace

Result<std::unique_ptr<FirestoreEmulator>> FirestoreEmulator::start(int port) {
  install_guard_once();
  std::unique_ptr<FirestoreEmulator> emu(new FirestoreEmulator());
  emu->script_ = sdk_root() + "/platform/cloud-firestore-emulator/cloud_firestore_emulator";
  if (::access(emu->script_.c_str(), X_OK) != 0) {
    return fail(errc::invalid_config, "Firestore emulator not found at " + emu->script_ +
                                          " (install the gcloud SDK with "
                                          "google-cloud-cli-firestore-emulator, or set "
                                          "CONNPOOL_GCLOUD_SDK_ROOT)");
  }
  emu->port_ = port ? port : free_port();
  if (emu->port_ == 0) return fail(errc::io_error, "no free loopback port for the emulator");
  emu->log_path_ = "/tmp/connpool-firestore-emulator-" + std::to_string(::getpid()) + "-" +
                   std::to_string(emu->port_) + ".log";
  if (auto r = emu->launch(); !r) return std::move(r).error();
  return emu;
}

Result<void> FirestoreEmulator::launch() {
  const int log_fd = ::open(log_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (log_fd < 0) return fail(errc::io_error, "cannot open " + log_path_);
  const std::string host_arg = "--host=127.0.0.1";
  const std::string port_arg = "--port=" + std::to_string(port_);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return fail(errc::io_error, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: a new session and process group, so killing -pgid reaches the java grandchild.
    ::setsid();
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execl(script_.c_str(), script_.c_str(), "start", host_arg.c_str(), port_arg.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(log_fd);
  pgid_ = pid;
  remember_group(pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_contains(log_path_, "Dev App Server is now running")) return ok();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      forget_group(pid);
      pgid_ = -1;
      return fail(errc::connect_failed,
                  "Firestore emulator exited during start-up:\n" + tail_of(log_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill();
  return fail(errc::connect_timeout,
              "Firestore emulator did not start within 90 s:\n" + tail_of(log_path_));
}

FirestoreEmulator::~FirestoreEmulator() {
  kill();
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

std::string FirestoreEmulator::host() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void FirestoreEmulator::kill() {
  if (pgid_ <= 0) return;
  ::kill(-pgid_, SIGKILL);
  int status = 0;
  ::waitpid(pgid_, &status, 0);
  // The java grandchild is reparented to init when the wrapper dies; wait until the group is
  // gone so the port is free for restart().
  for (int i = 0; i < 100 && ::kill(-pgid_, 0) == 0; ++i) {
    ::kill(-pgid_, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  forget_group(pgid_);
  pgid_ = -1;
}

Result<void> FirestoreEmulator::restart() {
  kill();
  return launch();
}

Result<void> FirestoreEmulator::reset(const std::string& project) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(errc::io_error, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port_));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return fail(errc::connect_failed, "reset: cannot connect to " + host());
  }
  const std::string req = "DELETE /emulator/v1/projects/" + project +
                          "/databases/(default)/documents HTTP/1.1\r\nHost: " + host() +
                          "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return fail(errc::io_error, "reset: write failed");
  }
  char buf[256] = {};
  const auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  const std::string head(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  if (head.find(" 200 ") == std::string::npos) {
    return fail(errc::server_error, "reset: unexpected reply: " + head.substr(0, 80));
  }
  return ok();
}

FirestoreEmulator* FirestoreEmulator::shared() {
  static std::unique_ptr<FirestoreEmulator> instance = [] {
    auto e = start();
    if (!e) {
      std::fprintf(stderr, "firestore emulator: %s\n", e.error().to_string().c_str());
      return std::unique_ptr<FirestoreEmulator>();
    }
    return std::move(*e);
  }();
  return instance.get();
}

}  // namespace connpool::testing
