// `connpool check`: validate the configuration, then connect to every pool and ping it.
// Exit 0 when every pool answered, 1 when any did not (or none is configured), 2 on a
// configuration error.
#include "connpool/service/probe.hpp"

#include "commands.hpp"
#include "common/config_options.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace connpool::cli {

using service::probe_pools;
using service::ProbeResult;

namespace {

std::string_view status_text(ProbeResult::Status s) {
  switch (s) {
    case ProbeResult::Status::healthy:
      return "healthy";
    case ProbeResult::Status::unhealthy:
      return "UNHEALTHY";
    case ProbeResult::Status::unchecked:
      return "UNCHECKED";
  }
  return "?";
}

std::string latency_text(const ProbeResult& r) {
  if (r.status != ProbeResult::Status::healthy) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(r.latency.count()) / 1000.0
    << "ms";
  return s.str();
}

void print_table(const std::vector<ProbeResult>& results, std::ostream& out) {
  const std::vector<std::string> header = {"POOL",   "BACKEND", "ENDPOINT",
                                           "STATUS", "LATENCY", "DETAIL"};
  std::vector<std::vector<std::string>> rows;
  for (const ProbeResult& r : results) {
    rows.push_back({r.pool, r.backend, r.endpoint, std::string(status_text(r.status)),
                    latency_text(r), r.detail});
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out << cells[c];
      if (c + 1 < cells.size()) out << std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
}

}  // namespace

void add_check(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ConfigOptions>();
  CLI::App* check = app.add_subcommand(
      "check",
      "Validate the configuration, connect to every pool and ping it. Exit 0: all healthy; "
      "1: any unhealthy or no pools configured; 2: configuration error");
  add_config_options(*check, *options);
  check->callback([options, &exit_code] {
    auto config = load_config(*options, std::cerr);
    if (!config) {
      exit_code = kExitConfigError;
      return;
    }
    if (config->pools.empty()) {
      std::cout << "no pools configured: set REDIS_URL, FIRESTORE_EMULATOR_HOST or "
                   "GOOGLE_CLOUD_PROJECT, or pass --config FILE\n";
      exit_code = kExitFailure;
      return;
    }
    const auto results = probe_pools(config->pools);
    print_table(results, std::cout);
    const auto healthy = std::count_if(results.begin(), results.end(), [](const ProbeResult& r) {
      return r.status == ProbeResult::Status::healthy;
    });
    const auto total = static_cast<std::ptrdiff_t>(results.size());
    std::cout << "\n" << healthy << " of " << total << " pools healthy\n";
    exit_code = healthy == total ? kExitOk : kExitFailure;
  });
}

}  // namespace connpool::cli
