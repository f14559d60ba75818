// The table of configurable keys: one entry per key of a pool and of `admin`, with how to parse
// it from text (the one form every source gives: YAML scalars, environment variables, flags) and
// how to print it. Parsing, `config show` and the docs all follow this table.
#pragma once

#include "connpool/config/config.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::config::detail {

/// How a value is typed in JSON and whether it is a secret.
enum class ValueKind { text, url, secret, size, duration, ratio, boolean, order, backend, port };

/// Applies text to a field; returns the broken rule ("must be a whole number, got 'x'") or
/// nullopt on success. A rule never quotes a secret.
template <class Target>
using Setter = std::optional<std::string> (*)(Target&, std::string_view);
/// The value as text, unredacted (render.cpp redacts by ValueKind).
template <class Target>
using Getter = std::string (*)(const Target&);

struct PoolField {
  std::string_view name;
  std::optional<Backend> only;  ///< set when the key belongs to one backend
  ValueKind kind;
  Setter<PoolSpec> set;
  Getter<PoolSpec> get;
};

struct AdminField {
  std::string_view name;
  ValueKind kind;
  Setter<AdminConfig> set;
  Getter<AdminConfig> get;
};

/// Every pool key, in display order ("backend" first, then backend settings, then PoolConfig,
/// then PoolConfig's sections as dotted names: "circuit_breaker.enabled").
std::span<const PoolField> pool_fields();
const PoolField* find_pool_field(std::string_view name);
/// Every pool key, sections flattened: "max_size", "circuit_breaker.enabled", ...
std::vector<std::string_view> pool_field_names();
/// Keys allowed directly under a pool (section "") or inside a section ("circuit_breaker").
std::vector<std::string_view> pool_keys_in(std::string_view section);
/// True for "circuit_breaker", "dynamic_sizing": keys whose value is a mapping of more keys.
bool is_pool_section(std::string_view key);

std::span<const AdminField> admin_fields();
const AdminField* find_admin_field(std::string_view name);
std::vector<std::string_view> admin_field_names();

/// Text shown for a value of this kind: secrets redacted.
std::string display(ValueKind kind, const std::string& raw);

}  // namespace connpool::config::detail
