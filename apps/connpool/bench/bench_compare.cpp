#include "bench/bench_compare.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace connpool::cli {

namespace {

struct Pair {
  std::string_view ours;
  std::string_view theirs;
  std::string_view column;  // short heading for the text table
};
constexpr std::array<Pair, 4> kPairs{{{"pool-auto-pipeline", "hiredis-threads", "auto/threads"},
                                      {"pool-auto-pipeline", "hiredis-pool", "auto/hpool"},
                                      {"pool", "hiredis-threads", "excl/threads"},
                                      {"pool", "hiredis-pool", "excl/hpool"}}};

const RunReport* find(const std::vector<RunReport>& round, std::string_view mode) {
  for (const auto& r : round) {
    if (r.mode == mode) return &r;
  }
  return nullptr;
}

std::optional<double> ratio(const std::vector<RunReport>& round, const Pair& pair) {
  const RunReport* a = find(round, pair.ours);
  const RunReport* b = find(round, pair.theirs);
  if (a == nullptr || b == nullptr || a->exit_code != 0 || b->exit_code != 0 ||
      b->ops_per_sec <= 0) {
    return std::nullopt;
  }
  return a->ops_per_sec / b->ops_per_sec;
}

}  // namespace

double load_average_1m() {
  double load[1] = {-1};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void print_comparison(const std::vector<std::vector<RunReport>>& rounds, bool json) {
  std::array<std::vector<double>, kPairs.size()> per_pair;
  if (json) {
    std::printf("{\"backend\":\"redis\",\"compare\":true,\"rounds\":[");
  } else {
    std::printf(
        "\ncompare: ops/s ratio connpool / baseline per round (auto = pool-auto-pipeline, "
        "excl = pool;\n  threads = hiredis-threads, hpool = hiredis-pool; load = 1-minute load "
        "average)\n%-6s %-6s",
        "round", "load");
    for (const auto& p : kPairs) std::printf(" %13s", std::string(p.column).c_str());
    std::printf("\n");
  }
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    const double load = rounds[r].empty() ? -1 : rounds[r].front().load_1m;
    if (json) {
      std::printf("%s{\"round\":%zu,\"load_avg_1m\":%.2f,\"ops_per_sec\":{", r == 0 ? "" : ",",
                  r + 1, load);
      for (std::size_t m = 0; m < rounds[r].size(); ++m) {
        std::printf("%s\"%s\":%.1f", m == 0 ? "" : ",", rounds[r][m].mode.c_str(),
                    rounds[r][m].ops_per_sec);
      }
      std::printf("},\"ratios\":{");
    } else {
      std::printf("%-6zu %-6.2f", r + 1, load);
    }
    bool first = true;
    for (std::size_t i = 0; i < kPairs.size(); ++i) {
      const auto q = ratio(rounds[r], kPairs[i]);
      if (q) per_pair[i].push_back(*q);
      if (json) {
        if (!q) continue;
        std::printf("%s\"%s/%s\":%.3f", first ? "" : ",", std::string(kPairs[i].ours).c_str(),
                    std::string(kPairs[i].theirs).c_str(), *q);
        first = false;
      } else if (q) {
        std::printf(" %13.2f", *q);
      } else {
        std::printf(" %13s", "-");
      }
    }
    std::printf(json ? "}}" : "\n");
  }
  if (json) {
    std::printf("],\"median_ratios\":{");
  } else {
    std::printf("%-13s", "median");
  }
  bool first = true;
  for (std::size_t i = 0; i < kPairs.size(); ++i) {
    const bool have = !per_pair[i].empty();
    const double m = median(per_pair[i]);
    if (json) {
      if (!have) continue;
      std::printf("%s\"%s/%s\":%.3f", first ? "" : ",", std::string(kPairs[i].ours).c_str(),
                  std::string(kPairs[i].theirs).c_str(), m);
      first = false;
    } else if (have) {
      std::printf(" %13.2f", m);
    } else {
      std::printf(" %13s", "-");
    }
  }
  std::printf(json ? "}}\n" : "\n");
  std::fflush(stdout);
}

}  // namespace connpool::cli
