#include "common/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>

namespace connpool::cli {

namespace {
LogFormat g_format = LogFormat::text;  // set once at start-up, before any thread logs

spdlog::level::level_enum to_spdlog(core::LogLevel level) {
  switch (level) {
    case core::LogLevel::debug:
      return spdlog::level::debug;
    case core::LogLevel::info:
      return spdlog::level::info;
    case core::LogLevel::warning:
      return spdlog::level::warn;
    case core::LogLevel::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}
}  // namespace

void setup_logging(LogFormat format) {
  g_format = format;
  auto logger = spdlog::stderr_color_mt("connpool");
  // JSON lines are built with nlohmann (correct escaping); spdlog only writes them.
  logger->set_pattern(format == LogFormat::json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void log(core::LogLevel level, std::string_view message) {
  const auto lvl = to_spdlog(level);
  if (g_format == LogFormat::json) {
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    nlohmann::json line = {{"ts_ms", ms},
                           {"level", spdlog::level::to_string_view(lvl).data()},
                           {"msg", std::string(message)}};
    spdlog::log(lvl, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    spdlog::log(lvl, "{}", message);
  }
}

std::function<void(core::LogLevel, std::string_view)> pool_logger() {
  return [](core::LogLevel level, std::string_view message) { log(level, message); };
}

}  // namespace connpool::cli
