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

std::vector<PoolRegistry::Entry> PoolRegistry::list() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

PoolRegistry::Entry PoolRegistry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (e->name == name) return e;
  }
  return nullptr;
}

std::size_t PoolRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace connpool::monitor
