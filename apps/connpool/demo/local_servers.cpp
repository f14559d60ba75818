#include "demo/local_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace connpool::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Result<std::uint16_t> free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Error(errc::io_error, std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return Error(errc::io_error, std::string("bind: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// A fresh directory only we can enter (mkdtemp creates it 0700), under $TMPDIR or /tmp.
Result<std::string> make_temp_dir(const char* prefix) {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  if (ec) return Error(errc::io_error, "no temporary directory: " + ec.message());
  std::string pattern = (base / (std::string(prefix) + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return Error(errc::io_error, "mkdtemp(" + pattern + "): " + std::strerror(errno));
  }
  return std::string(buf.data());
}

// 128 random bits as 32 hex digits, from the kernel's CSPRNG.
Result<std::string> random_password() {
  std::array<unsigned char, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(errc::internal, std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// Writes `text` to a new file readable by its owner only.
Result<void> write_private_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error(errc::io_error, "cannot create " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Error(errc::io_error, "cannot write " + path + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return ok();
}

// Starts `argv` in a new process group led by a small watchdog process, whose pid is returned.
// The watchdog forks the server, then waits: when the server exits it exits with it; when it is
// told to stop (SIGTERM) or connpool dies without cleaning up (a crash, SIGKILL: PDEATHSIG), it
// takes the whole group down, so a shell wrapper's children (the emulator's java) go too.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& log,
                    const std::string& cwd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Error(errc::internal, std::string("fork: ") + std::strerror(errno));
  if (pid != 0) return pid;

  // --- watchdog (only async-signal-safe calls from here on) ---
  ::setsid();
  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGUSR1);
  sigaddset(&watched, SIGCHLD);
  sigprocmask(SIG_BLOCK, &watched, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  if (::getppid() != parent) ::_exit(1);
  const pid_t server = ::fork();
  if (server < 0) ::_exit(1);
  if (server == 0) {
    sigprocmask(SIG_UNBLOCK, &watched, nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  for (;;) {
    int sig = 0;
    if (sigwait(&watched, &sig) != 0) continue;
    if (sig == SIGCHLD) {
      int status = 0;
      if (::waitpid(server, &status, WNOHANG) == server) {
        ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
      }
      continue;
    }
    ::kill(0, SIGTERM);  // the whole group; ours stays blocked
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(server, nullptr, WNOHANG) == server) break;
      ::usleep(100 * 1000);
    }
    ::kill(0, SIGKILL);
  }
}

bool exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

std::string read_file(const std::string& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail_of(const std::string& file) {
  std::string text = read_file(file);
  if (text.size() > 600) text = text.substr(text.size() - 600);
  return text;
}

std::string firestore_emulator_script() {
  std::vector<std::string> roots;
  if (const char* r = std::getenv("CLOUDSDK_ROOT_DIR")) roots.emplace_back(r);
  roots.insert(roots.end(), {"/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk",
                             "/opt/google-cloud-sdk", "/google-cloud-sdk"});
  for (const auto& root : roots) {
    fs::path script = fs::path(root) / "platform/cloud-firestore-emulator/cloud_firestore_emulator";
    if (::access(script.c_str(), X_OK) == 0) return script.string();
  }
  return {};
}

}  // namespace

LocalServer::LocalServer(LocalServer&& other) noexcept
    : name_(std::move(other.name_)),
      pid_(std::exchange(other.pid_, -1)),
      port_(other.port_),
      dir_(std::exchange(other.dir_, {})),
      password_(std::move(other.password_)) {}

LocalServer& LocalServer::operator=(LocalServer&& other) noexcept {
  if (this != &other) {
    stop();
    name_ = std::move(other.name_);
    pid_ = std::exchange(other.pid_, -1);
    port_ = other.port_;
    dir_ = std::exchange(other.dir_, {});
    password_ = std::move(other.password_);
  }
  return *this;
}

LocalServer::~LocalServer() {
  stop();
}

void LocalServer::stop() noexcept {
  if (pid_ > 0) {
    // The whole group: the emulator's shell wrapper starts a java child that would outlive it.
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 50 && !exited(pid_); ++i) std::this_thread::sleep_for(100ms);
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Also when the server never started (it failed, or exited at start): the directory holds
  // its log and, for redis-server, the file with its password.
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
  dir_.clear();
}

Result<LocalServer> LocalServer::start_redis() {
  const std::string binary = find_in_path("redis-server");
  if (binary.empty()) {
    return Error(errc::unavailable,
                 "redis-server not found in PATH (install it: apt-get install redis-server, or "
                 "set REDIS_URL to a running server)");
  }
  auto port = free_loopback_port();
  if (!port) return std::move(port).error();
  auto password = random_password();
  if (!password) return std::move(password).error();
  auto dir = make_temp_dir("connpool-demo-redis-");
  if (!dir) return std::move(dir).error();
  // From here on `server` owns the directory: every return below removes it.
  LocalServer server;
  server.name_ = "redis-server";
  server.port_ = *port;
  server.dir_ = std::move(*dir);
  server.password_ = std::move(*password);
  // Anyone on the machine can reach a loopback port: the server gets a random password, given
  // in a 0600 file inside the 0700 directory (on the command line, `ps` would show it).
  const std::string conf = server.dir_ + "/redis.conf";
  const std::string conf_text = "port " + std::to_string(*port) +
                                "\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\n"
                                "dir \"" +
                                server.dir_ + "\"\nrequirepass " + server.password_ + "\n";
  if (auto w = write_private_file(conf, conf_text); !w) return std::move(w).error();
  const std::vector<std::string> argv = {binary, conf};
  const std::string log = server.dir_ + "/redis.log";
  auto pid = spawn(argv, log, server.dir_);
  if (!pid) return std::move(pid).error();
  server.pid_ = *pid;
  for (int i = 0; i < 100; ++i) {
    if (port_accepts(*port)) return server;
    if (exited(server.pid_)) {
      server.pid_ = -1;
      return Error(errc::unavailable, "redis-server exited at start: " + tail_of(log));
    }
    std::this_thread::sleep_for(50ms);
  }
  return Error(errc::timeout, "redis-server did not accept connections within 5s");
}

Result<LocalServer> LocalServer::start_firestore_emulator() {
  const std::string script = firestore_emulator_script();
  if (script.empty()) {
    return Error(errc::unavailable,
                 "the Firestore emulator was not found (it ships with the gcloud SDK: "
                 "platform/cloud-firestore-emulator under the SDK root; set CLOUDSDK_ROOT_DIR, "
                 "or set FIRESTORE_EMULATOR_HOST / GOOGLE_CLOUD_PROJECT to use a running one)");
  }
  if (find_in_path("java").empty()) {
    return Error(errc::unavailable,
                 "the Firestore emulator needs java (apt-get install "
                 "default-jre-headless)");
  }
  auto port = free_loopback_port();
  if (!port) return std::move(port).error();
  auto dir = make_temp_dir("connpool-demo-firestore-");
  if (!dir) return std::move(dir).error();
  LocalServer server;  // owns the directory from here on
  server.name_ = "firestore-emulator";
  server.port_ = *port;
  server.dir_ = std::move(*dir);
  const std::string log = server.dir_ + "/emulator.log";
  const std::vector<std::string> argv = {script, "start", "--host=127.0.0.1",
                                         "--port=" + std::to_string(*port)};
  auto pid = spawn(argv, log, server.dir_);
  if (!pid) return std::move(pid).error();
  server.pid_ = *pid;
  for (int i = 0; i < 900; ++i) {
    if (read_file(log).find("Dev App Server is now running") != std::string::npos) return server;
    if (exited(server.pid_)) {
      server.pid_ = -1;
      return Error(errc::unavailable, "the Firestore emulator exited at start: " + tail_of(log));
    }
    std::this_thread::sleep_for(100ms);
  }
  return Error(errc::timeout, "the Firestore emulator did not start within 90s: " + tail_of(log));
}

}  // namespace connpool::cli
