// Choosing, verifying and spreading connections over the healthy replicas of a master.
#include "replica_picker.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <string_view>

namespace connpool::redis::detail {

namespace asio = boost::asio;

namespace {

using Address = SentinelUrl::Address;

// Long enough that the next connects try the other replicas first, short enough that a
// replica back from a blip is used again soon.
constexpr std::chrono::milliseconds kAvoidFor{1000};

std::string show(const Address& a) {
  return a.host + ":" + std::to_string(a.port);
}

// One entry of SENTINEL REPLICAS: a flat array of field, value, field, value...
std::map<std::string, std::string> fields(const Reply& entry) {
  std::map<std::string, std::string> out;
  const auto& parts = entry.elements();
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) out[parts[i].str()] = parts[i + 1].str();
  return out;
}

bool has_flag(std::string_view flags, std::string_view flag) {
  while (!flags.empty()) {
    const auto comma = flags.find(',');
    if (flags.substr(0, comma) == flag) return true;
    if (comma == std::string_view::npos) break;
    flags.remove_prefix(comma + 1);
  }
  return false;
}

struct Parsed {
  std::vector<Address> healthy;
  std::string unhealthy;  // "host:port: why; ..." for the error message
  std::size_t total = 0;
};

// Why a replica is not used; empty when it is healthy.
std::string unhealthy_because(const std::map<std::string, std::string>& f) {
  const auto get = [&f](const char* key) {
    auto it = f.find(key);
    return it == f.end() ? std::string() : it->second;
  };
  const std::string flags = get("flags");
  for (const char* bad : {"s_down", "o_down", "disconnected"}) {
    if (has_flag(flags, bad)) return "flags " + flags;
  }
  const std::string link = get("master-link-status");
  if (link != "ok") return "master-link-status " + (link.empty() ? "missing" : link);
  return {};
}

Parsed parse_replicas(const Reply& reply) {
  Parsed out;
  for (const Reply& entry : reply.elements()) {
    ++out.total;
    const auto f = fields(entry);
    const auto ip = f.find("ip");
    const auto port_text = f.find("port");
    unsigned port = 0;
    if (ip != f.end() && port_text != f.end()) {
      const auto& p = port_text->second;
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
      if (ec != std::errc() || port > 65535) port = 0;
    }
    if (port == 0) {
      out.unhealthy += "; an entry without ip/port";
      continue;
    }
    Address a{ip->second, static_cast<std::uint16_t>(port)};
    const std::string why = unhealthy_because(f);
    if (why.empty()) {
      out.healthy.push_back(std::move(a));
    } else {
      out.unhealthy += "; " + show(a) + ": " + why;
    }
  }
  if (!out.unhealthy.empty()) out.unhealthy = out.unhealthy.substr(2);
  return out;
}

}  // namespace

asio::awaitable<Result<std::vector<Address>>> ReplicaPicker::ask_replicas() {
  const SentinelUrl& url = tracker_->url();
  const std::array<std::string_view, 3> args{"SENTINEL", "REPLICAS", url.master_name};
  // The first Sentinel with a healthy replica wins: another may not have noticed it yet.
  SentinelAsker::Judge judge = [](const Reply& reply) -> std::string {
    if (!reply.is_array()) return "answered " + reply.to_display();
    const Parsed p = parse_replicas(reply);
    if (!p.healthy.empty()) return {};
    if (p.total == 0) return "knows no replica";
    return std::to_string(p.total) + " replica(s), none healthy (" + p.unhealthy + ")";
  };
  auto asked = co_await tracker_->asker().ask(args, std::move(judge));
  if (asked.accepted) co_return parse_replicas(*asked.accepted).healthy;
  const std::string sentinels = std::to_string(url.sentinels.size()) + " Sentinel(s)";
  if (asked.answered) {
    co_return Error(errc::unavailable, "redis-sentinel: no healthy replica of '" + url.master_name +
                                           "' (asked " + sentinels + ": " + asked.said + ")");
  }
  co_return Error(errc::unavailable, "redis-sentinel: no Sentinel reachable for master '" +
                                         url.master_name + "' (" + asked.said + ")");
}

Result<Address> ReplicaPicker::pick() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(avoided_, [now](const Avoided& a) { return a.until <= now; });
  std::string why;
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    const Address& a = replicas_[(next_ + i) % replicas_.size()];
    auto it = std::find_if(avoided_.begin(), avoided_.end(),
                           [&a](const Avoided& x) { return x.address == a; });
    if (it == avoided_.end()) {
      next_ = (next_ + i + 1) % replicas_.size();
      return a;
    }
    why += "; " + it->why;
  }
  return Error(errc::unavailable, "redis-sentinel: no healthy replica of '" +
                                      tracker_->url().master_name +
                                      "': each one the Sentinels report failed just now (" +
                                      (why.empty() ? std::string("none") : why.substr(2)) + ")");
}

void ReplicaPicker::avoid(const Address& a, std::string why) {
  std::lock_guard lock(mu_);
  stale_ = true;
  avoided_.push_back({a, std::chrono::steady_clock::now() + kAvoidFor, std::move(why)});
}

asio::awaitable<Result<std::unique_ptr<Connection>>> ReplicaPicker::connect() {
  auto executor = co_await asio::this_coro::executor;
  const SentinelUrl& url = tracker_->url();
  // The tracker notices switches relative to a known master: give it one.
  if (!tracker_->current()) {
    auto master = co_await tracker_->refresh();
    (void)master;  // unknown master: the replica question below says why
  }
  Error last(errc::connect_failed, "redis-sentinel: no replica");
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool ask = false;
    const std::uint64_t switches = tracker_->switches();
    {
      std::lock_guard lock(mu_);
      ask = stale_ || replicas_.empty() || asked_at_switch_ != switches;
    }
    if (ask) {
      auto asked = co_await ask_replicas();
      if (!asked) co_return std::move(asked).error();
      std::lock_guard lock(mu_);
      replicas_ = std::move(*asked);
      stale_ = false;
      asked_at_switch_ = switches;
    }
    auto address = pick();
    if (!address) co_return std::move(address).error();
    const RedisUrl target = url.master_url(*address);
    auto conn = co_await Connection::connect(executor, target);
    if (!conn) {
      last = conn.error().with_context("redis-sentinel replica of '" + url.master_name + "' at " +
                                       show(*address));
      avoid(*address, show(*address) + ": " + conn.error().to_string());
      continue;
    }
    const std::array<std::string_view, 1> role_args{"ROLE"};
    auto role = co_await (*conn)->execute(role_args);
    if (!role) {
      last = role.error().with_context("redis-sentinel ROLE on " + show(*address));
      avoid(*address, show(*address) + ": ROLE: " + role.error().to_string());
      continue;
    }
    // A replica: ["slave", master-ip, master-port, link state, offset].
    const auto& parts = role->elements();
    const std::string what =
        role->is_array() && !parts.empty() ? parts[0].str() : role->to_display();
    const std::string state = parts.size() >= 4 ? parts[3].str() : std::string();
    if (what == "slave" && state == "connected") co_return std::move(*conn);
    const std::string why = what == "slave"
                                ? "is a replica not in sync yet (ROLE state: " + state + ")"
                                : "is not a replica (ROLE: " + what + ")";
    last = Error(errc::connect_failed, "redis-sentinel: " + show(*address) +
                                           " (given as a replica of '" + url.master_name + "') " +
                                           why);
    avoid(*address, show(*address) + " " + why);
  }
  co_return last;
}

RedisConnector::ConnectFn sentinel_connect(std::shared_ptr<MasterTracker> tracker) {
  if (tracker->url().role == SentinelUrl::Role::replica) {
    auto picker = std::make_shared<ReplicaPicker>(std::move(tracker));
    return [picker] { return picker->connect(); };
  }
  return [tracker] { return tracker->connect(); };
}

}  // namespace connpool::redis::detail
