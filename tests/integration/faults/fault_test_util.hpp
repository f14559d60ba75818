// Helpers shared by the backend fault-injection tests: open file descriptors of this process,
// polling until a condition holds, a counter of live load coroutines, and errors tallied by
// type (with one sample message per type, for assertions on what callers are told).
#pragma once

#include "connpool/core/error.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

namespace connpool::faults {

using namespace std::chrono_literals;

/// Open file descriptors of this process (sockets, pipes, files): a leaked socket shows here.
inline std::size_t open_fds() {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

/// Inodes of the sockets this process holds open ("socket:[inode]" in /proc/self/fd).
inline std::set<unsigned long> open_socket_inodes() {
  std::set<unsigned long> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(it->path(), link_ec).string();
    if (!link_ec && target.rfind("socket:[", 0) == 0) out.insert(std::stoul(target.substr(8)));
  }
  return out;
}

/// This process's TCP sockets whose peer is `port` on IPv4 loopback: the client side of the
/// connections to a proxy (from /proc/net/tcp, restricted to our own open sockets).
inline std::set<unsigned long> client_sockets_to(std::uint16_t port) {
  const auto mine = open_socket_inodes();
  std::set<unsigned long> out;
  std::ifstream table("/proc/self/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long inode = 0;
    in >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        inode;
    const auto colon = remote.find(':');
    if (colon == std::string::npos) continue;
    if (std::stoul(remote.substr(colon + 1), nullptr, 16) != port) continue;
    if (mine.contains(inode)) out.insert(inode);
  }
  return out;
}

/// True once none of `sockets` is open in this process any more.
inline bool all_closed(const std::set<unsigned long>& sockets) {
  const auto mine = open_socket_inodes();
  for (unsigned long s : sockets) {
    if (mine.contains(s)) return false;
  }
  return true;
}

/// Polls `pred` every 20 ms for at most `limit`; the last answer is returned.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

/// Counts coroutines alive: each load coroutine holds a Live for its whole body, so the count
/// returning to 0 proves none was left suspended forever.
struct LiveCounter {
  std::atomic<int> live{0};
  struct Live {
    explicit Live(LiveCounter& c) : c_(c) { ++c_.live; }
    ~Live() { --c_.live; }
    Live(const Live&) = delete;
    Live& operator=(const Live&) = delete;
    LiveCounter& c_;
  };
};

/// Runs `f` when the scope ends, also when an ASSERT returns early: load coroutines that use
/// the test's locals are stopped and joined before those locals go away.
template <class F>
class OnExit {
 public:
  explicit OnExit(F f) : f_(std::move(f)) {}
  ~OnExit() { f_(); }
  OnExit(const OnExit&) = delete;
  OnExit& operator=(const OnExit&) = delete;

 private:
  F f_;
};

/// Errors by code, with the first message seen for each.
class ErrorTally {
 public:
  void add(const Error& e) {
    std::lock_guard lock(mu_);
    auto& slot = by_code_[e.code()];
    if (slot.count++ == 0) slot.sample = e.to_string();
  }
  std::size_t count(errc code) const {
    std::lock_guard lock(mu_);
    auto it = by_code_.find(code);
    return it == by_code_.end() ? 0 : it->second.count;
  }
  std::size_t total() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [code, slot] : by_code_) n += slot.count;
    return n;
  }
  /// The first message seen with `code` ("" when none).
  std::string sample(errc code) const {
    std::lock_guard lock(mu_);
    auto it = by_code_.find(code);
    return it == by_code_.end() ? std::string() : it->second.sample;
  }
  /// Codes other than `allowed...`, with their samples ("" when there are none).
  template <class... Codes>
  std::string others(Codes... allowed) const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [code, slot] : by_code_) {
      if (((code != allowed) && ...)) {
        out += std::to_string(slot.count) + " x " + slot.sample + "\n";
      }
    }
    return out;
  }
  std::string summary() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [code, slot] : by_code_) {
      out += std::string(to_string(code)) + "=" + std::to_string(slot.count) + " (" + slot.sample +
             ")\n";
    }
    return out;
  }

 private:
  struct Slot {
    std::size_t count = 0;
    std::string sample;
  };
  mutable std::mutex mu_;
  std::map<errc, Slot> by_code_;
};

}  // namespace connpool::faults
