#include "support/redis_sentinel.hpp"

#include "support/redis_process.hpp"
#include "support/redis_server.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace connpool::test {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

template <class Pred>
bool poll_until(Pred pred, milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return pred();
}

}  // namespace

std::unique_ptr<RedisSentinelCluster> RedisSentinelCluster::start(RedisSentinelOptions options,
                                                                  std::string* error) {
  std::unique_ptr<RedisSentinelCluster> c(new RedisSentinelCluster());
  c->options_ = std::move(options);
  char tmpl[] = "/tmp/connpool-sentinel-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    if (error) *error = "mkdtemp failed";
    return nullptr;
  }
  c->dir_ = tmpl;
  const std::size_t data_nodes = c->options_.never_promoted_replica ? 3 : 2;
  for (std::size_t i = 0; i < data_nodes; ++i) c->data_.push_back(free_loopback_port());
  for (int i = 0; i < 3; ++i) c->sentinels_.push_back(free_loopback_port());
  c->pids_.assign(data_nodes + 3, -1);

  for (std::size_t i = 0; i < data_nodes; ++i) {
    std::ofstream conf(c->dir_ + "/node" + std::to_string(i) + ".conf");
    conf << "port " << c->data_[i] << "\nbind 127.0.0.1\nsave \"\"\nappendonly no\n"
         << "dir " << c->dir_ << "\ndbfilename node" << i << ".rdb\n"
         << "logfile " << c->dir_ << "/node" << i << ".log\n"
         << "daemonize no\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n"
         << "repl-ping-replica-period 1\n";
    if (i >= 1) conf << "replicaof 127.0.0.1 " << c->data_[0] << "\n";
    // Never promoted: failovers always promote node 1, which the master tests rely on.
    if (i == 2) conf << "replica-priority 0\n";
  }
  for (std::size_t i = 0; i < 3; ++i) {
    std::ofstream conf(c->dir_ + "/sentinel" + std::to_string(i) + ".conf");
    const auto& name = c->options_.master_name;
    conf << "port " << c->sentinels_[i] << "\nbind 127.0.0.1\ndaemonize no\n"
         << "dir " << c->dir_ << "\nlogfile " << c->dir_ << "/sentinel" << i << ".log\n"
         << "sentinel monitor " << name << " 127.0.0.1 " << c->data_[0] << " 2\n"
         << "sentinel down-after-milliseconds " << name << " " << c->options_.down_after_ms << "\n"
         << "sentinel failover-timeout " << name << " " << c->options_.failover_timeout_ms << "\n"
         << "sentinel parallel-syncs " << name << " 1\n";
  }
  // Master, then the replicas in sync, then the Sentinels: they find the replicas in the
  // master's first INFO instead of 10 s later.
  for (std::size_t i = 0; i < data_nodes; ++i) {
    if (!c->launch(i, error)) return nullptr;
  }
  for (std::size_t i = 1; i < data_nodes; ++i) {
    if (!c->wait_replica_synced(c->data_[i], milliseconds(15000))) {
      if (error)
        *error = "replica did not sync; see " + c->dir_ + "/node" + std::to_string(i) + ".log";
      return nullptr;
    }
  }
  for (std::size_t i = data_nodes; i < data_nodes + 3; ++i) {
    if (!c->launch(i, error)) return nullptr;
  }
  if (!c->wait_ready(error)) return nullptr;
  return c;
}

bool RedisSentinelCluster::launch(std::size_t index, std::string* error) {
  const bool sentinel = index >= data_.size();
  const std::size_t s = index - data_.size();  // meaningful when sentinel
  const std::string conf = sentinel ? dir_ + "/sentinel" + std::to_string(s) + ".conf"
                                    : dir_ + "/node" + std::to_string(index) + ".conf";
  const std::uint16_t port = sentinel ? sentinels_[s] : data_[index];
  const pid_t pid = spawn_redis_server(conf, sentinel);
  if (pid < 0) {
    if (error) *error = "fork failed";
    return false;
  }
  pids_[index] = pid;
  const bool up = poll_until(
      [&] {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return true;  // exited: checked below
        return loopback_accepts(port);
      },
      milliseconds(10000));
  if (!up || !loopback_accepts(port)) {
    if (error)
      *error = std::string(sentinel ? "sentinel" : "redis-server") + " on port " +
               std::to_string(port) + " did not start; see logs in " + dir_;
    return false;
  }
  return true;
}

bool RedisSentinelCluster::wait_ready(std::string* error) {
  const auto& name = options_.master_name;
  const bool ok = poll_until(
      [&] {
        for (auto p : sentinels_) {
          const std::string replicas = cli(p, "SENTINEL replicas " + name);
          const std::string peers = cli(p, "SENTINEL sentinels " + name);
          for (std::size_t d = 1; d < data_.size(); ++d) {
            if (replicas.find(std::to_string(data_[d])) == std::string::npos) return false;
          }
          int others = 0;
          for (auto q : sentinels_) {
            if (q != p && peers.find(std::to_string(q)) != std::string::npos) ++others;
          }
          if (others != 2) return false;
        }
        return true;
      },
      milliseconds(30000));
  if (!ok && error) *error = "Sentinels did not discover each other; see logs in " + dir_;
  return ok;
}

std::string RedisSentinelCluster::cli(std::uint16_t port, const std::string& args) const {
  const std::string cmd =
      "redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " " + args + " 2>/dev/null";
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
  ::pclose(f);
  return out;
}

std::uint16_t RedisSentinelCluster::master_port() const {
  for (auto p : sentinels_) {
    const auto l = lines(cli(p, "SENTINEL get-master-addr-by-name " + options_.master_name));
    if (l.size() >= 2) {
      try {
        return static_cast<std::uint16_t>(std::stoi(l[1]));
      } catch (...) {
        continue;
      }
    }
  }
  return 0;
}

bool RedisSentinelCluster::wait_replica_synced(std::uint16_t port,
                                               std::chrono::milliseconds limit) const {
  return poll_until(
      [&] {
        const std::string info = cli(port, "INFO replication");
        return info.find("role:slave") != std::string::npos &&
               info.find("master_link_status:up") != std::string::npos;
      },
      limit);
}

std::uint16_t RedisSentinelCluster::wait_for_new_master(std::uint16_t old_port,
                                                        std::chrono::milliseconds limit,
                                                        bool with_replica) const {
  std::uint16_t found = 0;
  poll_until(
      [&] {
        std::uint16_t agreed = 0;
        for (auto p : sentinels_) {
          const auto l = lines(cli(p, "SENTINEL get-master-addr-by-name " + options_.master_name));
          if (l.size() < 2) continue;  // a Sentinel that is down does not vote here
          const auto port = static_cast<std::uint16_t>(std::atoi(l[1].c_str()));
          if (port == old_port || (agreed != 0 && port != agreed)) return false;
          agreed = port;
        }
        if (agreed == 0) return false;
        if (cli(agreed, "ROLE").rfind("master", 0) != 0) return false;
        if (with_replica) {
          for (auto d : data_) {
            if (d != agreed && !wait_replica_synced(d, milliseconds(0))) return false;
          }
        }
        found = agreed;
        return true;
      },
      limit);
  return found;
}

std::map<std::string, std::string> RedisSentinelCluster::replica_info(std::uint16_t sentinel,
                                                                      std::uint16_t port) const {
  // redis-cli prints the nested reply flat: per replica, field and value lines, starting with
  // "name".
  const auto l = lines(cli(sentinel, "SENTINEL replicas " + options_.master_name));
  std::map<std::string, std::string> entry;
  for (std::size_t i = 0; i + 1 < l.size(); i += 2) {
    if (l[i] == "name") {
      if (entry["port"] == std::to_string(port)) return entry;
      entry.clear();
    }
    entry[l[i]] = l[i + 1];
  }
  if (entry["port"] == std::to_string(port)) return entry;
  return {};
}

bool RedisSentinelCluster::wait_replica_healthy(std::uint16_t port,
                                                std::chrono::milliseconds limit) const {
  return poll_until(
      [&] {
        for (auto s : sentinels_) {
          auto info = replica_info(s, port);
          const std::string& flags = info["flags"];
          if (flags.empty() || flags.find("s_down") != std::string::npos ||
              flags.find("o_down") != std::string::npos ||
              flags.find("disconnected") != std::string::npos ||
              info["master-link-status"] != "ok") {
            return false;
          }
        }
        return true;
      },
      limit);
}

void RedisSentinelCluster::kill_node(std::uint16_t port) {
  for (std::size_t i = 0; i < data_.size(); ++i) {
    if (data_[i] != port || pids_[i] <= 0) continue;
    ::kill(pids_[i], SIGKILL);
    int status = 0;
    ::waitpid(pids_[i], &status, 0);
    pids_[i] = -1;
  }
}

bool RedisSentinelCluster::restart_node(std::uint16_t port, std::string* error) {
  for (std::size_t i = 0; i < data_.size(); ++i) {
    if (data_[i] == port) return launch(i, error);
  }
  if (error) *error = "no data node on port " + std::to_string(port);
  return false;
}

RedisSentinelCluster::~RedisSentinelCluster() {
  for (auto& pid : pids_) {
    if (pid <= 0) continue;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string RedisSentinelCluster::url(const std::string& query) const {
  std::string u = "redis-sentinel://";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    if (i > 0) u += ",";
    u += "127.0.0.1:" + std::to_string(sentinels_[i]);
  }
  u += "/" + options_.master_name;
  if (!query.empty()) u += "?" + query;
  return u;
}

}  // namespace connpool::test
