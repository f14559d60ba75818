// Cluster-wide SCAN (see cluster_scan.hpp, docs/proxy.md#cluster-wide-scan).
#include "cluster_scan.hpp"

#include "connpool/proxy/command_rules.hpp"

#include "cluster_upstream.hpp"

#include <algorithm>
#include <charconv>

namespace connpool::proxy::detail {

namespace asio = boost::asio;

std::optional<ScanCursor> decode_scan_cursor(std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return ScanCursor{static_cast<std::size_t>(value & (kScanMaxNodes - 1)), value >> kScanNodeBits};
}

std::optional<std::string> encode_scan_cursor(const ScanCursor& at) {
  if (at.node >= kScanMaxNodes || (at.cursor >> (64 - kScanNodeBits)) != 0) return std::nullopt;
  return std::to_string((at.cursor << kScanNodeBits) | at.node);
}

std::optional<ScanCursor> next_scan_cursor(std::size_t node, std::uint64_t node_cursor,
                                           std::size_t nodes) {
  if (node_cursor != 0) return ScanCursor{node, node_cursor};
  if (node + 1 >= nodes) return std::nullopt;
  return ScanCursor{node + 1, 0};
}

namespace {

redis::Reply scan_error(std::string message) {
  return redis::Reply::error("ERR connpool proxy: SCAN " + std::move(message));
}

}  // namespace

asio::awaitable<redis::Reply> ClusterUpstream::scan(const std::vector<std::string>& command) {
  if (command.size() < 2) {
    co_return redis::Reply::error("ERR wrong number of arguments for 'scan' command");
  }
  const auto at = decode_scan_cursor(command[1]);
  if (!at) co_return redis::Reply::error("ERR invalid cursor");
  if (client_.nodes().empty()) {
    if (auto loaded = co_await client_.refresh(); !loaded) {
      co_return redis::Reply::error(failure_message(loaded.error()));
    }
  }
  // The primaries in a stable order (by address), so a cursor names the same node next time
  // as long as the topology holds.
  std::vector<redis::cluster::NodeInfo> primaries;
  for (auto& node : client_.nodes()) {
    if (node.role == redis::cluster::NodeRole::primary) primaries.push_back(std::move(node));
  }
  std::sort(primaries.begin(), primaries.end(),
            [](const auto& a, const auto& b) { return a.address.text() < b.address.text(); });
  if (at->node >= primaries.size()) {
    co_return scan_error("cursor names node " + std::to_string(at->node) + " of " +
                         std::to_string(primaries.size()) +
                         " primaries (the cluster changed during the scan; start again at 0)");
  }
  std::vector<std::string> args(command);
  args[1] = std::to_string(at->cursor);
  const std::vector<std::string_view> views(args.begin(), args.end());
  auto reply = co_await primaries[at->node].client.command(views);
  if (!reply) co_return redis::Reply::error(failure_message(reply.error()));
  if (reply->is_error()) co_return std::move(*reply);
  auto& parts = reply->elements();
  std::uint64_t node_cursor = 0;
  if (!reply->is_array() || parts.size() != 2 || !parts[0].is_string() ||
      std::from_chars(parts[0].str().data(), parts[0].str().data() + parts[0].str().size(),
                      node_cursor)
              .ec != std::errc()) {
    co_return scan_error("got an unexpected reply from " + primaries[at->node].address.text());
  }
  std::string cursor = "0";
  if (const auto next = next_scan_cursor(at->node, node_cursor, primaries.size())) {
    auto encoded = encode_scan_cursor(*next);
    if (!encoded) {
      co_return scan_error("cursor " + std::to_string(node_cursor) + " of " +
                           primaries[at->node].address.text() + " is too large to encode");
    }
    cursor = std::move(*encoded);
  }
  parts[0] = redis::Reply::string(std::move(cursor));
  co_return std::move(*reply);
}

}  // namespace connpool::proxy::detail
