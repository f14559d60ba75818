// Printing an effective configuration for people (a table) and machines (JSON), each value with
// its origin. Secrets are always redacted.
#pragma once

#include "connpool/config/config.hpp"

#include <string>

namespace connpool::config {

/// Readable table: environment, file, admin, then one block per pool with KEY VALUE SOURCE rows.
std::string render_table(const Config& config);

/// JSON object:
/// {"file": {"value": ..., "source": ...} | null, "environment": {"value", "source"},
///  "admin": {"bind": {...}, "port": {...}, "token": {...}},
///  "pools": {"<name>": {"backend": {"value", "source"}, "<key>": {"value", "source"}, ...}}}
/// Sizes and ratios are numbers, auto_pipeline a bool, durations strings ("30s").
std::string render_json(const Config& config, int indent = 2);

}  // namespace connpool::config
