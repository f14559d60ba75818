#include "support/redis_server.hpp"

#include "support/redis_process.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace connpool::test {

namespace {

bool run_shell(const std::string& cmd) {
  return std::system(cmd.c_str()) == 0;
}

// CA, server certificate for 127.0.0.1/localhost, client certificate, and an unrelated CA.
bool make_certs(const std::string& dir, std::string* error) {
  const std::string q = " >>" + dir + "/openssl.log 2>&1";
  const std::string d = dir + "/";
  const bool ok =
      run_shell(
          "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=connpool-test-ca"
          " -keyout " +
          d + "ca.key -out " + d + "ca.crt" + q) &&
      run_shell("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout " + d +
                "redis.key -out " + d + "redis.csr" + q) &&
      run_shell("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > " + d + "san.ext") &&
      run_shell("openssl x509 -req -in " + d + "redis.csr -CA " + d + "ca.crt -CAkey " + d +
                "ca.key -CAcreateserial -days 2 -extfile " + d + "san.ext -out " + d + "redis.crt" +
                q) &&
      run_shell("openssl req -newkey rsa:2048 -nodes -subj /CN=connpool-client -keyout " + d +
                "client.key -out " + d + "client.csr" + q) &&
      run_shell("openssl x509 -req -in " + d + "client.csr -CA " + d + "ca.crt -CAkey " + d +
                "ca.key -CAcreateserial -days 2 -out " + d + "client.crt" + q) &&
      run_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout " +
                d + "other-ca.key -out " + d + "other-ca.crt" + q);
  if (!ok && error) *error = "openssl failed, see " + dir + "/openssl.log";
  return ok;
}

}  // namespace

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::unique_ptr<RedisServer> RedisServer::start(RedisServerOptions options, std::string* error) {
  std::unique_ptr<RedisServer> s(new RedisServer());
  s->options_ = std::move(options);
  char tmpl[] = "/tmp/connpool-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    if (error) *error = "mkdtemp failed";
    return nullptr;
  }
  s->dir_ = tmpl;
  s->port_ = free_loopback_port();
  if (s->options_.tls && !make_certs(s->dir_, error)) return nullptr;

  std::ofstream conf(s->dir_ + "/redis.conf");
  conf << "bind 127.0.0.1\n"
       << "save \"\"\n"
       << "appendonly no\n"
       << "dir " << s->dir_ << "\n"
       << "logfile " << s->dir_ << "/redis.log\n"
       << "daemonize no\n";
  if (s->options_.tls) {
    conf << "port 0\n"
         << "tls-port " << s->port_ << "\n"
         << "tls-cert-file " << s->dir_ << "/redis.crt\n"
         << "tls-key-file " << s->dir_ << "/redis.key\n"
         << "tls-ca-cert-file " << s->dir_ << "/ca.crt\n"
         << "tls-auth-clients " << (s->options_.tls_require_client_cert ? "yes" : "no") << "\n";
  } else {
    conf << "port " << s->port_ << "\n";
  }
  if (s->options_.unix_socket)
    conf << "unixsocket " << s->socket_path() << "\nunixsocketperm 700\n";
  if (!s->options_.requirepass.empty()) conf << "requirepass " << s->options_.requirepass << "\n";
  if (!s->options_.acl_user.empty()) {
    conf << "user " << s->options_.acl_user << " on >" << s->options_.acl_password
         << " ~* &* +@all\n";
  }
  for (const auto& line : s->options_.extra_config) conf << line << "\n";
  conf.close();
  if (!s->launch(error)) return nullptr;
  return s;
}

bool RedisServer::launch(std::string* error) {
  const std::string conf = dir_ + "/redis.conf";
  const pid_t pid = spawn_redis_server(conf);
  if (pid < 0) {
    if (error) *error = "fork failed";
    return false;
  }
  pid_ = pid;
  // Ready when the port (TLS or not) accepts TCP connections and, with a unix socket, that
  // accepts too: redis-server listens on the socket after the TCP port, so a TCP probe alone
  // let a test connect between the socket's bind() and listen() (ECONNREFUSED); bounded to 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (error) *error = "redis-server exited at start; see " + dir_ + "/redis.log";
      return false;
    }
    if (loopback_accepts(port_) && (!options_.unix_socket || unix_socket_accepts(socket_path()))) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (error) *error = "redis-server did not accept connections within 10s";
  stop();
  return false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool RedisServer::restart(std::string* error) {
  stop();
  return launch(error);
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url(const std::string& query) const {
  std::string creds;
  if (!options_.acl_user.empty()) {
    creds = options_.acl_user + ":" + options_.acl_password + "@";
  } else if (!options_.requirepass.empty()) {
    creds = ":" + options_.requirepass + "@";
  }
  std::string u =
      (options_.tls ? "rediss://" : "redis://") + creds + "127.0.0.1:" + std::to_string(port_);
  std::string q = options_.tls ? "tls_ca_file=" + ca_file() : "";
  if (!query.empty()) q += (q.empty() ? "" : "&") + query;
  if (!q.empty()) u += "?" + q;
  return u;
}

}  // namespace connpool::test
