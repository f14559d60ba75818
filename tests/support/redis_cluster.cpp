#include "support/redis_cluster.hpp"

#include "support/redis_process.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace connpool::test {

namespace {

// A port in 20000..44999 (so port + 10000 stays valid and outside the kernel's ephemeral
// range, where other tests' servers get their ports) with both it and its bus port free.
std::uint16_t free_cluster_port(const std::vector<std::uint16_t>& taken) {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(20000, 44999);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(dist(rng));
    const auto bus = static_cast<std::uint16_t>(port + 10000);
    const bool clash = std::any_of(taken.begin(), taken.end(), [&](std::uint16_t t) {
      return t == port || t == bus || t + 10000 == port || t + 10000 == bus;
    });
    if (!clash && loopback_can_bind(port) && loopback_can_bind(bus)) return port;
  }
  return 0;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) {
    if (!part.empty() && part.back() == '\r') part.pop_back();
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

struct NodeLine {
  std::string id;
  std::uint16_t port = 0;
  std::string flags;
  std::string master;
  std::vector<std::string> slots;
  [[nodiscard]] bool has(const std::string& flag) const {
    for (const auto& f : split(flags, ',')) {
      if (f == flag) return true;
    }
    return false;
  }
};

std::vector<NodeLine> parse_nodes(const std::string& text) {
  std::vector<NodeLine> out;
  for (const auto& line : split(text, '\n')) {
    const auto f = split(line, ' ');
    if (f.size() < 8) continue;
    NodeLine n;
    n.id = f[0];
    const auto colon = f[1].rfind(':');
    const auto at = f[1].find('@');
    if (colon == std::string::npos) continue;
    n.port = static_cast<std::uint16_t>(std::stoi(f[1].substr(colon + 1, at - colon - 1)));
    n.flags = f[2];
    n.master = f[3];
    for (std::size_t i = 8; i < f.size(); ++i) {
      if (f[i].front() != '[') n.slots.push_back(f[i]);  // skip migrating/importing markers
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace

std::unique_ptr<RedisCluster> RedisCluster::start(RedisClusterOptions options, std::string* error) {
  std::unique_ptr<RedisCluster> c(new RedisCluster());
  c->options_ = std::move(options);
  char tmpl[] = "/tmp/connpool-cluster-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    if (error) *error = "mkdtemp failed";
    return nullptr;
  }
  c->root_ = tmpl;
  const int count = c->options_.primaries * (1 + c->options_.replicas_per_primary);
  std::vector<std::uint16_t> taken;
  for (int i = 0; i < count; ++i) {
    Node node;
    node.port = free_cluster_port(taken);
    if (node.port == 0) {
      if (error) *error = "no free port pair (port, port+10000) found";
      return nullptr;
    }
    taken.push_back(node.port);
    node.dir = c->root_ + "/" + std::to_string(node.port);
    std::filesystem::create_directories(node.dir);
    std::ofstream conf(node.dir + "/redis.conf");
    conf << "bind 127.0.0.1\n"
         << "port " << node.port << "\n"
         << "cluster-enabled yes\n"
         << "cluster-config-file " << node.dir << "/nodes.conf\n"
         << "cluster-node-timeout " << c->options_.node_timeout_ms
         << "\n"
         // Keep the topology what the tests set up: no replica moves to an orphaned primary.
         << "cluster-allow-replica-migration no\n"
         << "save \"\"\n"
         << "appendonly no\n"
         << "dir " << node.dir << "\n"
         << "logfile " << node.dir << "/redis.log\n"
         << "daemonize no\n";
    for (const auto& line : c->options_.extra_config) conf << line << "\n";
    conf.close();
    c->nodes_.push_back(std::move(node));
    if (!c->launch(c->nodes_.back(), error)) return nullptr;
  }
  std::string create = "redis-cli --cluster create";
  for (const auto& n : c->nodes_) create += " 127.0.0.1:" + std::to_string(n.port);
  create += " --cluster-replicas " + std::to_string(c->options_.replicas_per_primary) +
            " --cluster-yes >" + c->root_ + "/create.log 2>&1";
  if (std::system(create.c_str()) != 0) {
    if (error) *error = "redis-cli --cluster create failed; see " + c->root_ + "/create.log";
    return nullptr;
  }
  if (!c->wait_healthy(std::chrono::seconds(30), error)) return nullptr;
  return c;
}

bool RedisCluster::launch(Node& node, std::string* error) {
  const std::string conf = node.dir + "/redis.conf";
  const pid_t pid = spawn_redis_server(conf);
  if (pid < 0) {
    if (error) *error = "fork failed";
    return false;
  }
  node.pid = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      node.pid = -1;
      if (error) *error = "redis-server exited at start; see " + node.dir + "/redis.log";
      return false;
    }
    if (loopback_accepts(node.port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (error) *error = "redis-server did not accept connections within 10s";
  stop(node);
  return false;
}

void RedisCluster::stop(Node& node) {
  if (node.pid <= 0) return;
  ::kill(node.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(node.pid, &status, WNOHANG) == node.pid) {
      node.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(node.pid, SIGKILL);
  ::waitpid(node.pid, &status, 0);
  node.pid = -1;
}

RedisCluster::~RedisCluster() {
  for (auto& n : nodes_) stop(n);
  std::error_code ec;
  if (!root_.empty()) std::filesystem::remove_all(root_, ec);
}

RedisCluster::Node* RedisCluster::find(std::uint16_t port) {
  for (auto& n : nodes_) {
    if (n.port == port) return &n;
  }
  return nullptr;
}

const RedisCluster::Node* RedisCluster::find(std::uint16_t port) const {
  for (const auto& n : nodes_) {
    if (n.port == port) return &n;
  }
  return nullptr;
}

std::vector<std::uint16_t> RedisCluster::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& n : nodes_) out.push_back(n.port);
  return out;
}

std::string RedisCluster::url(const std::string& query) const {
  std::string u = "redis-cluster://";
  for (std::size_t i = 0; i < nodes_.size() && i < 2; ++i) {
    if (i > 0) u += ",";
    u += "127.0.0.1:" + std::to_string(nodes_[i].port);
  }
  u += "/";
  if (!query.empty()) u += "?" + query;
  return u;
}

std::string RedisCluster::cli(std::uint16_t port, const std::string& args) const {
  const std::string cmd = "redis-cli -p " + std::to_string(port) + " " + args + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool RedisCluster::running(std::uint16_t port) const {
  const Node* n = find(port);
  return n != nullptr && n->pid > 0;
}

std::string RedisCluster::node_id(std::uint16_t port) const {
  return cli(port, "CLUSTER MYID");
}

std::vector<std::uint16_t> RedisCluster::primaries() const {
  for (const auto& n : nodes_) {
    if (n.pid <= 0) continue;
    std::vector<std::uint16_t> out;
    for (const auto& line : parse_nodes(cli(n.port, "CLUSTER NODES"))) {
      if (line.has("master") && !line.has("fail") && !line.slots.empty()) {
        out.push_back(line.port);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  return {};
}

std::optional<std::uint16_t> RedisCluster::replica_of(std::uint16_t primary) const {
  const std::string id = node_id(primary);
  for (const auto& line : parse_nodes(cli(primary, "CLUSTER NODES"))) {
    if (line.has("slave") && !line.has("fail") && line.master == id && running(line.port)) {
      return line.port;
    }
  }
  return std::nullopt;
}

std::optional<std::uint16_t> RedisCluster::owner_of_slot(int slot) const {
  for (const auto& n : nodes_) {
    if (n.pid <= 0) continue;
    for (const auto& line : parse_nodes(cli(n.port, "CLUSTER NODES"))) {
      if (!line.has("master") || line.has("fail")) continue;
      for (const auto& range : line.slots) {
        const auto dash = range.find('-');
        const int first = std::stoi(range.substr(0, dash));
        const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
        if (slot >= first && slot <= last) return line.port;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

void RedisCluster::kill(std::uint16_t port) {
  Node* n = find(port);
  if (n == nullptr || n->pid <= 0) return;
  ::kill(n->pid, SIGKILL);
  int status = 0;
  ::waitpid(n->pid, &status, 0);
  n->pid = -1;
}

bool RedisCluster::restart(std::uint16_t port, std::string* error) {
  Node* n = find(port);
  if (n == nullptr) {
    if (error) *error = "no node on port " + std::to_string(port);
    return false;
  }
  stop(*n);
  return launch(*n, error);
}

std::string RedisCluster::log_tail(const Node& node, std::size_t lines) const {
  std::ifstream in(node.dir + "/redis.log");
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

bool RedisCluster::wait_healthy(std::chrono::milliseconds timeout, std::string* error) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  const Node* not_ok = nullptr;  // the node that last failed the first check
  while (std::chrono::steady_clock::now() < deadline) {
    why.clear();
    not_ok = nullptr;
    std::set<std::string> views;
    for (const auto& n : nodes_) {
      if (n.pid <= 0) continue;
      const std::string info = cli(n.port, "CLUSTER INFO");
      if (info.find("cluster_state:ok") == std::string::npos ||
          info.find("cluster_slots_ok:16384") == std::string::npos) {
        why = "node " + std::to_string(n.port) + " not ok: " + info.substr(0, 120);
        not_ok = &n;
        break;
      }
      std::set<std::string> owners;  // ordered, so every node's view compares equal
      for (const auto& line : parse_nodes(cli(n.port, "CLUSTER NODES"))) {
        if (!line.has("master") || line.has("fail") || line.slots.empty()) continue;
        std::string entry = std::to_string(line.port) + ":";
        for (const auto& s : line.slots) entry += s + ",";
        owners.insert(entry);
      }
      std::string view;
      for (const auto& o : owners) view += o + ";";
      views.insert(view);
      const std::string repl = cli(n.port, "INFO replication");
      if (repl.find("role:slave") != std::string::npos &&
          repl.find("master_link_status:up") == std::string::npos) {
        why = "replica " + std::to_string(n.port) + " link not up";
        break;
      }
    }
    if (why.empty() && views.size() != 1) why = "nodes disagree on the slot owners";
    // CLUSTER SLOTS lists a replica only once its replication offset is known to the node
    // asked; clients discover replicas there, so wait for every running node to be listed.
    for (const auto& n : nodes_) {
      if (!why.empty() || n.pid <= 0) continue;
      const std::string slots = "\n" + cli(n.port, "CLUSTER SLOTS") + "\n";
      for (const auto& other : nodes_) {
        if (other.pid <= 0) continue;
        if (slots.find("\n" + std::to_string(other.port) + "\n") == std::string::npos) {
          why = "CLUSTER SLOTS on " + std::to_string(n.port) + " does not list " +
                std::to_string(other.port) + " yet";
          break;
        }
      }
    }
    if (why.empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (not_ok != nullptr) {
    why += "\nits CLUSTER NODES:\n" + cli(not_ok->port, "CLUSTER NODES") + "\nits log:\n" +
           log_tail(*not_ok, 25);
  }
  if (error) *error = "cluster not healthy: " + why;
  return false;
}

}  // namespace connpool::test
