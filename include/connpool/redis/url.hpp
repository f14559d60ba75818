// RedisUrl: everything needed to reach one Redis server and pool connections to it, parsed
// from a URL. Plain data; copy freely. See docs/redis.md for the full option reference.
//
//   redis://[user:password@]host[:port][/db][?option=value&...]
//   rediss://...                      (TLS)
//   unix://[user:password@]/path/to/redis.sock[?db=N&...]
//
// Secrets: the password is kept only in `password`. redacted(), every parse error and every
// message built by the Redis backend show it as "***".
#pragma once

#include "connpool/core/pool_config.hpp"
#include "connpool/core/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace connpool::redis {

using std::chrono::milliseconds;

enum class Transport {
  tcp,          ///< redis://
  tls,          ///< rediss://
  unix_socket,  ///< unix://
};

/// TLS settings (rediss:// only). Query options tls_ca_file, tls_cert_file, tls_key_file,
/// tls_verify, tls_sni.
struct TlsOptions {
  /// PEM file of trusted CAs. Empty: the system's default trust store.
  std::string ca_file;
  /// PEM client certificate and its private key for mutual TLS. Both or neither.
  std::string cert_file;
  std::string key_file;
  /// Verify the server's certificate chain and host name. Default true. false is for tests
  /// only: the connection is then open to a man in the middle.
  bool verify = true;
  /// Server name sent in the TLS SNI extension and checked against the certificate.
  /// Empty: the URL's host.
  std::string sni;
};

struct RedisUrl {
  Transport transport = Transport::tcp;
  /// Host name or IP literal (IPv6 without brackets). Default 127.0.0.1.
  std::string host = "127.0.0.1";
  /// TCP port. Default 6379.
  std::uint16_t port = 6379;
  /// Socket path for unix://.
  std::string path;
  /// Database selected on connect (SELECT) when not 0. Default 0.
  int db = 0;
  /// ACL user name; empty means the legacy `AUTH password` form.
  std::string username;
  /// Password for AUTH; empty means no AUTH. Never printed.
  std::string password;
  TlsOptions tls;
  /// CLIENT SETNAME on connect. Default "connpool". Empty: not sent.
  std::string client_name = "connpool";
  /// Deadline of one command (or one pipeline / transaction) from enqueue to reply. Expiry
  /// breaks the connection (errc::timeout): RESP has no way to skip a late reply.
  /// Default 5000 ms. 0 means: no deadline.
  milliseconds command_timeout{5000};
  /// Largest reply accepted from the server, in bytes (its wire size plus a small charge per
  /// array element). A larger reply, or a bulk header announcing one, breaks that connection
  /// (errc::protocol_error); nothing is reserved from an announced length. Default 512 MiB
  /// (Redis's proto-max-bulk-len). Query: max_reply_bytes=64MiB (B, KiB, MiB, GiB; 1 B..4 GiB).
  std::size_t max_reply_bytes = std::size_t{512} * 1024 * 1024;
  /// Auto-pipelining: independent commands of many callers share pooled connections (shared
  /// leases), written together and matched in order. Default true. Query: pipeline_auto=on|off.
  bool pipeline_auto = true;
  /// With pipeline_auto, the commands one connection carries at once (the pool's
  /// max_leases_per_connection). Default 128. Query: pipeline_max_in_flight.
  std::size_t pipeline_max_in_flight = 128;
  /// Pool policy; query options with the PoolConfig field names (min_size, max_size,
  /// acquire_timeout=250ms, ...) and go-redis aliases (pool_size, min_idle_conns, dial_timeout,
  /// pool_timeout, read_timeout). connect_timeout also bounds AUTH/SELECT/SETNAME.
  core::PoolConfig pool;
  /// Send READONLY after connecting (Redis Cluster replicas serve reads only after it). Not a
  /// URL option: set by cluster::ClusterClient for read_from=replica|nearest. Default false.
  bool readonly = false;

  /// Parses a URL. Errors are errc::invalid_argument (bad syntax) or errc::invalid_config
  /// (a bad option value) and name the bad part; they never contain the password.
  static Result<RedisUrl> parse(std::string_view url);

  /// The URL with the password replaced by "***" (the user name is kept): safe for logs.
  [[nodiscard]] std::string redacted() const;
  /// "host:port" or the socket path, for display.
  [[nodiscard]] std::string endpoint() const;
  /// The SNI / host name to verify: tls.sni or host.
  [[nodiscard]] const std::string& tls_server_name() const noexcept {
    return tls.sni.empty() ? host : tls.sni;
  }
};

}  // namespace connpool::redis
