#include "connpool/monitor/pool_registry.hpp"

#include <algorithm>
#include <utility>

namespace connpool::monitor {

bool valid_pool_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > ' ' && c < 127 && c != '/'; });
}

Result<void> PoolRegistry::add(PoolSource source) {
  if (!valid_pool_name(source.name)) {
    return fail(errc::invalid_argument,
                "pool name must be 1..128 printable ASCII characters without '/' or spaces");
  }
  if (!source.stats) {
    return fail(errc::invalid_argument, "pool '" + source.name + "' has no stats function");
  }
  auto entry = std::make_shared<const PoolSource>(std::move(source));
  std::lock_guard lock(mutex_);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), entry->name,
                             [](const Entry& e, const std::string& n) { return e->name < n; });
  if (it != entries_.end() && (*it)->name == entry->name) {
    return fail(errc::already_exists, "a pool named '" + entry->name + "' is already registered");
  }
  entries_.insert(it, std::move(entry));
  return ok();
}

bool PoolRegistry::remove(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e->name == name; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

Result<void> PoolRegistry::add_group(std::string group,
                                     std::function<std::vector<PoolSource>()> sources) {
  if (group.empty()) return fail(errc::invalid_argument, "pool group name must not be empty");
  if (!sources) {
    return fail(errc::invalid_argument, "pool group '" + group + "' has no sources function");
  }
  auto fn = std::make_shared<const std::function<std::vector<PoolSource>()>>(std::move(sources));
  std::lock_guard lock(mutex_);
  for (const auto& g : groups_) {
    if (g.first == group) {
      return fail(errc::already_exists, "a pool group named '" + group + "' is already registered");
    }
  }
  groups_.emplace_back(std::move(group), std::move(fn));
  return ok();
}

bool PoolRegistry::remove_group(std::string_view group) {
  std::lock_guard lock(mutex_);
  return std::erase_if(groups_, [&](const Group& g) { return g.first == group; }) > 0;
}

std::vector<PoolRegistry::Entry> PoolRegistry::list() const {
  std::vector<Entry> out;
  std::vector<Group> groups;
  {
    std::lock_guard lock(mutex_);
    out = entries_;
    groups = groups_;
  }
  if (groups.empty()) return out;
  // The groups run without the lock: they read live cluster state and may take locks of their
  // own, and a slow one must not block add()/remove().
  const auto taken = [&out](const std::string& name) {
    return std::any_of(out.begin(), out.end(), [&](const Entry& e) { return e->name == name; });
  };
  for (const auto& group : groups) {
    for (PoolSource& source : (*group.second)()) {
      if (!valid_pool_name(source.name) || !source.stats || taken(source.name)) continue;
      out.push_back(std::make_shared<const PoolSource>(std::move(source)));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a->name < b->name; });
  return out;
}

PoolRegistry::Entry PoolRegistry::find(std::string_view name) const {
  for (auto& e : list()) {
    if (e->name == name) return e;
  }
  return nullptr;
}

Result<void> PoolRegistry::add_proxy(ProxySource source) {
  if (!valid_pool_name(source.name)) {
    return fail(errc::invalid_argument,
                "proxy name must be 1..128 printable ASCII characters without '/' or spaces");
  }
  if (!source.snapshot) {
    return fail(errc::invalid_argument, "proxy '" + source.name + "' has no snapshot function");
  }
  auto entry = std::make_shared<const ProxySource>(std::move(source));
  std::lock_guard lock(mutex_);
  auto it = std::lower_bound(proxies_.begin(), proxies_.end(), entry->name,
                             [](const std::shared_ptr<const ProxySource>& e, const std::string& n) {
                               return e->name < n;
                             });
  if (it != proxies_.end() && (*it)->name == entry->name) {
    return fail(errc::already_exists, "a proxy named '" + entry->name + "' is already registered");
  }
  proxies_.insert(it, std::move(entry));
  return ok();
}

bool PoolRegistry::remove_proxy(std::string_view name) {
  std::lock_guard lock(mutex_);
  return std::erase_if(proxies_, [&](const auto& p) { return p->name == name; }) > 0;
}

std::vector<std::shared_ptr<const ProxySource>> PoolRegistry::proxies_of(
    std::string_view pool) const {
  std::vector<std::shared_ptr<const ProxySource>> out;
  std::lock_guard lock(mutex_);
  for (const auto& p : proxies_) {
    if (p->pool == pool) out.push_back(p);
  }
  return out;
}

std::size_t PoolRegistry::size() const {
  return list().size();
}

}  // namespace connpool::monitor
