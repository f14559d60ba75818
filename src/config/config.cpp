// Names of enums, origins and look-ups on the Config aggregate.
#include "connpool/config/config.hpp"

#include <algorithm>

namespace connpool::config {

std::string_view to_string(Environment e) noexcept {
  switch (e) {
    case Environment::development:
      return "development";
    case Environment::staging:
      return "staging";
    case Environment::production:
      return "production";
  }
  return "development";
}

std::string_view to_string(Backend b) noexcept {
  return b == Backend::redis ? "redis" : "firestore";
}

std::optional<Environment> parse_environment(std::string_view text) noexcept {
  for (Environment e : {Environment::development, Environment::staging, Environment::production}) {
    if (text == to_string(e)) return e;
  }
  return std::nullopt;
}

std::optional<Backend> parse_backend(std::string_view text) noexcept {
  for (Backend b : {Backend::redis, Backend::firestore}) {
    if (text == to_string(b)) return b;
  }
  return std::nullopt;
}

Origin Origin::file(std::string_view path, int line, int column) {
  return {Kind::file,
          std::string(path) + ":" + std::to_string(line) + ":" + std::to_string(column)};
}

std::string Origin::to_string() const {
  switch (kind) {
    case Kind::builtin:
      return "default";
    case Kind::profile:
      return "profile:" + detail;
    case Kind::file:
      return detail;
    case Kind::env:
      return "env:" + detail;
    case Kind::flag:
      return "flag:" + detail;
  }
  return detail;
}

namespace {
Origin lookup(const std::map<std::string, Origin, std::less<>>& origins, std::string_view key) {
  auto it = origins.find(key);
  return it == origins.end() ? Origin::builtin_default() : it->second;
}
}  // namespace

Origin PoolSpec::origin_of(std::string_view key) const {
  return lookup(origins, key);
}
Origin AdminConfig::origin_of(std::string_view key) const {
  return lookup(origins, key);
}
Origin ProxySpec::origin_of(std::string_view key) const {
  return lookup(origins, key);
}

const PoolSpec* Config::find(std::string_view name) const {
  auto it =
      std::find_if(pools.begin(), pools.end(), [&](const PoolSpec& p) { return p.name == name; });
  return it == pools.end() ? nullptr : &*it;
}

}  // namespace connpool::config
