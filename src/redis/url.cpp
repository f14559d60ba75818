// Parsing of redis://, rediss:// and unix:// URLs. Every error names the bad part and never
// echoes the password (it is not even quoted when its percent-encoding is broken).
#include "connpool/redis/url.hpp"

#include "url_text.hpp"

#include <cctype>
#include <charconv>
#include <string>

namespace connpool::redis {

namespace {

using detail::percent_decode;
using detail::split_url;

Error bad_url(std::string what) {
  return Error(errc::invalid_argument, "invalid redis URL: " + std::move(what));
}
Error bad_option(std::string_view name, std::string what) {
  return Error(errc::invalid_config,
               "invalid redis URL option '" + std::string(name) + "': " + std::move(what));
}

std::string percent_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

Result<bool> parse_bool(std::string_view name, std::string_view v) {
  if (v == "true" || v == "on" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "off" || v == "0" || v == "no") return false;
  return bad_option(name, "'" + std::string(v) + "' is not a boolean (on/off, true/false, 1/0)");
}

Result<void> parse_db(std::string_view text, int& db) {
  if (!parse_int(text, db) || db < 0) {
    return bad_url("database '" + std::string(text) + "' is not a non-negative number");
  }
  return ok();
}

Result<void> set_duration(std::string_view name, std::string_view value, milliseconds& field) {
  auto d = detail::parse_bounded_duration(value);
  if (!d) return bad_option(name, d.error().message());
  field = *d;
  return ok();
}

Result<void> set_size(std::string_view name, std::string_view value, std::size_t& field) {
  if (!parse_int(value, field)) {
    return bad_option(name, "'" + std::string(value) + "' is not a non-negative whole number");
  }
  return ok();
}

// One query option onto the URL. Names follow PoolConfig; go-redis aliases are accepted so
// URLs copied from Go services work.
Result<void> apply_option(RedisUrl& u, std::string_view name, std::string_view value) {
  auto& p = u.pool;
  if (name == "db") return parse_db(value, u.db);
  if (name == "min_size") return set_size(name, value, p.min_size);
  if (name == "max_size" || name == "pool_size") return set_size(name, value, p.max_size);
  if (name == "min_idle" || name == "min_idle_conns") return set_size(name, value, p.min_idle);
  if (name == "acquire_timeout" || name == "pool_timeout") {
    return set_duration(name, value, p.acquire_timeout);
  }
  if (name == "connect_timeout" || name == "dial_timeout") {
    return set_duration(name, value, p.connect_timeout);
  }
  if (name == "validation_timeout") return set_duration(name, value, p.validation_timeout);
  if (name == "max_idle_time" || name == "conn_max_idle_time") {
    return set_duration(name, value, p.max_idle_time);
  }
  if (name == "max_lifetime" || name == "conn_max_lifetime") {
    return set_duration(name, value, p.max_lifetime);
  }
  if (name == "health_check_interval") return set_duration(name, value, p.health_check_interval);
  if (name == "validate_after_idle") return set_duration(name, value, p.validate_after_idle);
  if (name == "leak_detection_threshold") {
    return set_duration(name, value, p.leak_detection_threshold);
  }
  if (name == "min_size_backoff_cap") return set_duration(name, value, p.min_size_backoff_cap);
  if (name == "sizing") {
    const auto mode = core::parse_sizing_mode(value);
    if (!mode)
      return bad_option(name, "'" + std::string(value) + "' is not fixed, reactive or predictive");
    p.sizing = *mode;
    return ok();
  }
  if (name == "command_timeout" || name == "read_timeout" || name == "socket_timeout") {
    return set_duration(name, value, u.command_timeout);
  }
  if (name == "max_reply_bytes") {
    auto n = detail::parse_byte_size(value);
    if (!n) return bad_option(name, n.error().message());
    u.max_reply_bytes = *n;
    return ok();
  }
  if (name == "pipeline_auto") {
    auto b = parse_bool(name, value);
    if (!b) return std::move(b).error();
    u.pipeline_auto = *b;
    return ok();
  }
  if (name == "pipeline_max_in_flight") {
    if (auto r = set_size(name, value, u.pipeline_max_in_flight); !r) return r;
    if (u.pipeline_max_in_flight == 0) return bad_option(name, "must be >= 1");
    return ok();
  }
  if (name == "client_name") {
    u.client_name = std::string(value);
    return ok();
  }
  if (name == "tls_ca_file") {
    u.tls.ca_file = std::string(value);
    return ok();
  }
  if (name == "tls_cert_file") {
    u.tls.cert_file = std::string(value);
    return ok();
  }
  if (name == "tls_key_file") {
    u.tls.key_file = std::string(value);
    return ok();
  }
  if (name == "tls_sni") {
    u.tls.sni = std::string(value);
    return ok();
  }
  if (name == "tls_verify") {
    auto b = parse_bool(name, value);
    if (!b) return std::move(b).error();
    u.tls.verify = *b;
    return ok();
  }
  return bad_option(name, "unknown option");
}

Result<void> parse_query(RedisUrl& u, std::string_view query) {
  for (const detail::QueryPair& pair : detail::split_query(query)) {
    std::string name;
    std::string value;
    if (!percent_decode(pair.name, name)) {
      return bad_url("bad percent-encoding in a query option name");
    }
    if (!pair.has_value) return bad_option(name, "missing '=value'");
    if (!percent_decode(pair.value, value)) {
      return bad_option(name, "bad percent-encoding in the value");
    }
    if (auto r = apply_option(u, name, value); !r) return r;
  }
  return ok();
}

// userinfo = user[:password]; the password is never quoted in errors.
Result<void> parse_userinfo(RedisUrl& u, std::string_view info) {
  const auto colon = info.find(':');
  if (!percent_decode(info.substr(0, colon), u.username)) {
    return bad_url("bad percent-encoding in the user name");
  }
  if (colon != std::string_view::npos) {
    if (!percent_decode(info.substr(colon + 1), u.password)) {
      return bad_url("bad percent-encoding in the password");
    }
  }
  return ok();
}

Result<void> parse_host_port(RedisUrl& u, std::string_view hp) {
  std::string_view host;
  std::string_view port;
  if (!hp.empty() && hp.front() == '[') {
    const auto close = hp.find(']');
    if (close == std::string_view::npos) return bad_url("IPv6 host is missing ']'");
    host = hp.substr(1, close - 1);
    const auto rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad_url("unexpected text after IPv6 host");
      port = rest.substr(1);
      if (port.empty()) return bad_url("empty port after ':'");
    }
  } else {
    const auto colon = hp.rfind(':');
    host = hp.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hp.substr(colon + 1);
      if (port.empty()) return bad_url("empty port after ':'");
    }
  }
  if (host.empty()) return bad_url("missing host");
  // Host names are letters, digits, '-', '.', '_' (and ':' / '%' inside an IPv6 literal).
  // Anything else, control bytes and non-ASCII included (found by fuzzing), is rejected; the
  // message does not echo unprintable bytes.
  for (const char ch : host) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok =
        std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == ':' || c == '%';
    if (!ok) {
      const bool printable = c >= 0x21 && c < 0x7f;
      return bad_url(printable ? "host '" + std::string(host) +
                                     "' contains the invalid character '" + std::string(1, ch) + "'"
                               : "host contains an unprintable or non-ASCII byte");
    }
  }
  u.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    if (!parse_int(port, value) || value == 0 || value > 65535) {
      return bad_url("port '" + std::string(port) + "' is not a number in 1..65535");
    }
    u.port = static_cast<std::uint16_t>(value);
  }
  return ok();
}

}  // namespace

Result<RedisUrl> RedisUrl::parse(std::string_view url) {
  RedisUrl u;
  const auto parts = split_url(url);
  if (!parts) return bad_url("missing scheme (expected redis://, rediss:// or unix://)");
  const std::string_view scheme = parts->scheme;
  if (scheme == "redis") {
    u.transport = Transport::tcp;
  } else if (scheme == "rediss") {
    u.transport = Transport::tls;
  } else if (scheme == "unix" || scheme == "redis+unix" || scheme == "redis-socket") {
    u.transport = Transport::unix_socket;
  } else {
    return bad_url("unknown scheme '" + std::string(scheme) +
                   "' (expected redis://, rediss:// or unix://)");
  }
  const std::string_view query = parts->query;
  if (!parts->userinfo_problem.empty()) return bad_url(std::string(parts->userinfo_problem));
  if (parts->has_fragment) return bad_url("fragments ('#') are not allowed");

  if (u.transport == Transport::unix_socket) {
    // The userinfo ends at the last '@' before the query (see split_url), so a raw '@' or '/'
    // in a password still works.
    std::string_view rest = parts->rest;
    if (parts->has_userinfo) {
      if (auto r = parse_userinfo(u, parts->userinfo); !r) return std::move(r).error();
      rest = rest.substr(parts->userinfo.size() + 1);
    }
    if (rest.empty() || rest.front() != '/') {
      return bad_url("unix:// needs an absolute socket path (unix:///path/to/redis.sock)");
    }
    if (!percent_decode(rest, u.path)) return bad_url("bad percent-encoding in the socket path");
    u.host.clear();
    u.port = 0;
  } else {
    if (parts->has_userinfo) {
      if (auto r = parse_userinfo(u, parts->userinfo); !r) return std::move(r).error();
    }
    if (auto r = parse_host_port(u, parts->authority); !r) return std::move(r).error();
    if (parts->path.size() > 1) {
      if (auto r = parse_db(parts->path.substr(1), u.db); !r) return std::move(r).error();
    }
  }
  if (auto r = parse_query(u, query); !r) return std::move(r).error();
  if (u.transport != Transport::tls &&
      (!u.tls.ca_file.empty() || !u.tls.cert_file.empty() || !u.tls.key_file.empty() ||
       !u.tls.sni.empty() || !u.tls.verify)) {
    return Error(errc::invalid_config, "invalid redis URL: tls_* options need rediss://");
  }
  if (u.tls.cert_file.empty() != u.tls.key_file.empty()) {
    return Error(errc::invalid_config,
                 "invalid redis URL: tls_cert_file and tls_key_file go together");
  }
  if (auto v = u.pool.validate(); !v) {
    return v.error().with_context("invalid redis URL");
  }
  return u;
}

std::string RedisUrl::redacted() const {
  std::string out;
  switch (transport) {
    case Transport::tcp:
      out = "redis://";
      break;
    case Transport::tls:
      out = "rediss://";
      break;
    case Transport::unix_socket:
      out = "unix://";
      break;
  }
  if (!username.empty() || !password.empty()) {
    out += percent_encode(username);
    if (!password.empty()) out += ":***";
    out += '@';
  }
  out += endpoint();
  if (transport != Transport::unix_socket && db != 0) out += "/" + std::to_string(db);
  if (transport == Transport::unix_socket && db != 0) out += "?db=" + std::to_string(db);
  return out;
}

std::string RedisUrl::endpoint() const {
  if (transport == Transport::unix_socket) return path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace connpool::redis
