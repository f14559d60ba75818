// Parsing of redis-cluster:// URLs. The cluster part (scheme, seed list, cluster options) is
// handled here; the per-node part (credentials, pool and TLS options) is handed to
// RedisUrl::parse as an ordinary redis:// URL, so both URL kinds accept the same options.
#include "connpool/redis/cluster/cluster_url.hpp"

#include "../url_text.hpp"

#include <charconv>

namespace connpool::redis::cluster {

namespace {

Error bad_url(std::string what) {
  return Error(errc::invalid_argument, "invalid redis-cluster URL: " + std::move(what));
}
Error bad_option(std::string_view name, std::string what) {
  return Error(errc::invalid_config,
               "invalid redis-cluster URL option '" + std::string(name) + "': " + std::move(what));
}

Result<void> set_count(std::string_view name, std::string_view value, std::size_t& out) {
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
    return bad_option(name, "'" + std::string(value) + "' is not a non-negative whole number");
  }
  return ok();
}

Result<void> set_duration(std::string_view name, std::string_view value,
                          std::chrono::milliseconds& out) {
  auto d = detail::parse_bounded_duration(value);
  if (!d) return bad_option(name, d.error().message());
  out = *d;
  return ok();
}

// Applies a cluster option; false when `name` is not one (it then belongs to the node URL).
Result<bool> apply_cluster_option(ClusterUrl& u, std::string_view name, std::string_view value) {
  Result<void> r;
  if (name == "read_from") {
    if (value == "primary" || value == "master") {
      u.read_from = ReadFrom::primary;
    } else if (value == "replica" || value == "slave") {
      u.read_from = ReadFrom::replica;
    } else if (value == "nearest") {
      u.read_from = ReadFrom::nearest;
    } else {
      r = bad_option(name, "'" + std::string(value) + "' is not primary, replica or nearest");
    }
  } else if (name == "max_redirects") {
    r = set_count(name, value, u.max_redirects);
  } else if (name == "max_retries") {
    r = set_count(name, value, u.max_retries);
  } else if (name == "retry_backoff") {
    r = set_duration(name, value, u.retry_backoff);
  } else if (name == "refresh_interval") {
    r = set_duration(name, value, u.refresh_interval);
  } else {
    return false;
  }
  if (!r) return std::move(r).error();
  return true;
}

// Splits the query into cluster options (applied) and the rest (returned for RedisUrl).
Result<std::string> take_cluster_options(ClusterUrl& u, std::string_view query) {
  std::string rest;
  for (const redis::detail::QueryPair& pair : redis::detail::split_query(query)) {
    auto applied = apply_cluster_option(u, pair.name, pair.value);
    if (!applied) return std::move(applied).error();
    if (*applied) continue;
    if (!rest.empty()) rest += '&';
    rest += pair.text;
  }
  return rest;
}

}  // namespace

std::string_view to_string(ReadFrom r) noexcept {
  switch (r) {
    case ReadFrom::primary:
      return "primary";
    case ReadFrom::replica:
      return "replica";
    case ReadFrom::nearest:
      return "nearest";
  }
  return "primary";
}

std::string NodeAddress::text() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<ClusterUrl> ClusterUrl::parse(std::string_view url) {
  ClusterUrl u;
  const auto parts = detail::split_url(url);
  if (!parts) return bad_url("missing scheme (expected redis-cluster:// or rediss-cluster://)");
  const std::string_view scheme = parts->scheme;
  std::string node_scheme;
  if (scheme == "redis-cluster") {
    node_scheme = "redis://";
  } else if (scheme == "rediss-cluster") {
    node_scheme = "rediss://";
  } else {
    return bad_url("unknown scheme '" + std::string(scheme) +
                   "' (expected redis-cluster:// or rediss-cluster://)");
  }
  const std::string_view query = parts->query;
  if (!parts->userinfo_problem.empty()) return bad_url(std::string(parts->userinfo_problem));
  if (parts->has_fragment) return bad_url("fragments ('#') are not allowed");
  if (const std::string_view path = parts->path; !path.empty() && path != "/" && path != "/0") {
    return bad_url("path '" + std::string(path) +
                   "': Redis Cluster has only database 0 (use '/' or nothing)");
  }
  // The userinfo is passed to RedisUrl::parse untouched (still percent-encoded), never quoted
  // here.
  const std::string_view userinfo = parts->userinfo;
  std::string_view authority = parts->authority;
  if (authority.empty()) return bad_url("no seed nodes (expected host1:port,host2:port)");

  std::size_t index = 0;
  while (true) {
    ++index;
    const auto comma = authority.find(',');
    const std::string_view seed = authority.substr(0, comma);
    if (seed.empty()) {
      return bad_url("seed node " + std::to_string(index) + " is empty (stray ',')");
    }
    auto parsed = RedisUrl::parse("redis://" + std::string(seed));
    if (!parsed) {
      return Error(parsed.error().code(), "invalid redis-cluster URL: seed node " +
                                              std::to_string(index) + ": " +
                                              parsed.error().message());
    }
    u.seeds.push_back(NodeAddress{parsed->host, parsed->port});
    if (comma == std::string_view::npos) break;
    authority = authority.substr(comma + 1);
  }

  auto node_query = take_cluster_options(u, query);
  if (!node_query) return std::move(node_query).error();
  std::string node_text = node_scheme;
  if (!userinfo.empty()) node_text += std::string(userinfo) + "@";
  node_text += u.seeds.front().text();
  if (!node_query->empty()) node_text += "?" + *node_query;
  auto node = RedisUrl::parse(node_text);
  if (!node) {
    // RedisUrl's messages say "invalid redis URL ..."; they never contain the password.
    return Error(node.error().code(), "redis-cluster URL: " + node.error().message());
  }
  if (node->db != 0)
    return bad_url("Redis Cluster has only database 0 (got db=" + std::to_string(node->db) + ")");
  u.node = std::move(*node);
  return u;
}

std::string ClusterUrl::redacted() const {
  std::string out = node.transport == Transport::tls ? "rediss-cluster://" : "redis-cluster://";
  // RedisUrl::redacted() already encodes the user and hides the password: reuse its userinfo.
  const std::string single = node.redacted();
  const auto start = single.find("://") + 3;
  if (const auto at = single.find('@', start); at != std::string::npos) {
    out += single.substr(start, at - start + 1);
  }
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (i > 0) out += ',';
    out += seeds[i].text();
  }
  return out;
}

RedisUrl ClusterUrl::node_url(const NodeAddress& address) const {
  RedisUrl url = node;
  url.host = address.host;
  url.port = address.port;
  return url;
}

}  // namespace connpool::redis::cluster
