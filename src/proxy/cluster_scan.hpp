// Cluster-wide SCAN through the proxy (docs/proxy.md#cluster-wide-scan): the client's cursor
// names a primary (its index among the primaries sorted by address) and that node's own
// cursor, as cluster proxies do (Envoy's Redis proxy, twemproxy forks). The node cursor is
// shifted left by kScanNodeBits and the index is in the low bits, so cursor 0 still means
// "start" and "done". Pure functions, unit-tested; the I/O is ClusterUpstream::scan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace connpool::proxy::detail {

/// Up to 1024 primaries; node cursors up to 2^54 (Redis's are far smaller: a hash table's size,
/// with the slot in 14 more bits on Redis 8).
inline constexpr unsigned kScanNodeBits = 10;
inline constexpr std::size_t kScanMaxNodes = std::size_t{1} << kScanNodeBits;

struct ScanCursor {
  std::size_t node = 0;      ///< index into the primaries sorted by address
  std::uint64_t cursor = 0;  ///< that node's SCAN cursor
  friend bool operator==(const ScanCursor&, const ScanCursor&) = default;
};

/// The client's cursor text decoded; none when it is not an unsigned 64-bit decimal number.
std::optional<ScanCursor> decode_scan_cursor(std::string_view text);
/// The client's cursor for `at`; none when the node cursor does not fit.
std::optional<std::string> encode_scan_cursor(const ScanCursor& at);
/// Where the scan goes after node `node` answered `node_cursor` (0: that node is done) with
/// `nodes` primaries in all; none when every node is done (the client gets cursor 0).
std::optional<ScanCursor> next_scan_cursor(std::size_t node, std::uint64_t node_cursor,
                                           std::size_t nodes);

}  // namespace connpool::proxy::detail
