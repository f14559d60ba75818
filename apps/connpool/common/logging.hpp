// Process logging for the long-running commands (serve, demo): spdlog to stderr, as text or as
// one JSON object per line.
#pragma once

#include "connpool/core/pool.hpp"  // core::LogLevel

#include <functional>
#include <string_view>

namespace connpool::cli {

enum class LogFormat { text, json };

/// Configures spdlog's default logger once for the process.
void setup_logging(LogFormat format);
/// Logs one line (thread-safe). Messages are already free of secrets (the pools redact).
void log(core::LogLevel level, std::string_view message);
/// The sink to put in PoolOptions::logger.
std::function<void(core::LogLevel, std::string_view)> pool_logger();

}  // namespace connpool::cli
