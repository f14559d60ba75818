// Turning replies into typed results, and building the arguments of common commands: shared
// by Client and cluster::ClusterClient, so both give the same results and the same errors.
// Internal to connpool::redis.
#pragma once

#include "connpool/core/result.hpp"
#include "connpool/redis/reply.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::redis::detail {

/// errc::protocol_error: "redis CMD: unexpected reply ...".
Error unexpected(std::string_view cmd, const Reply& r);

Result<std::optional<std::string>> to_opt_string(Reply r, std::string_view cmd);
Result<long long> to_integer(const Reply& r, std::string_view cmd);
Result<std::vector<std::string>> to_strings(Reply r, std::string_view cmd);
/// A score as Redis prints it (%.17g, "inf", "-inf").
Result<double> to_double(const std::string& text, std::string_view cmd);
/// The shortest text that reads back as `v`.
std::string format_double(double v);

/// "CMD key" + items: the common shape of variadic commands.
std::vector<std::string_view> with_key(std::string_view cmd, std::string_view key,
                                       std::span<const std::string_view> items);

}  // namespace connpool::redis::detail
