#include "bench/bench_redis_benchmark.hpp"

#include "bench/bench_process.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::cli {

namespace {

// One line of redis-benchmark --csv:
// "SET","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
// "p99_latency_ms","max_latency_ms"
struct CsvLine {
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

std::optional<CsvLine> find_test(const std::string& output, std::string_view test) {
  const std::string prefix = "\"" + std::string(test) + "\",";
  std::size_t at = 0;
  while ((at = output.find(prefix, at)) != std::string::npos) {
    if (at == 0 || output[at - 1] == '\n' || output[at - 1] == '\r') break;
    at += prefix.size();
  }
  if (at == std::string::npos) return std::nullopt;
  std::vector<double> fields;
  const char* p = output.c_str() + at + prefix.size();
  for (int i = 0; i < 7; ++i) {
    if (*p == '"') ++p;
    char* end = nullptr;
    const double v = std::strtod(p, &end);
    if (end == p) return std::nullopt;
    fields.push_back(v);
    p = end;
    if (*p == '"') ++p;
    if (*p == ',') ++p;
  }
  if (fields[0] <= 0) return std::nullopt;
  return CsvLine{fields[0], fields[3], fields[5]};
}

RunReport failure(RunReport r, std::string why) {
  r.exit_code = 1;
  r.error = std::move(why);
  return r;
}

}  // namespace

std::string redis_benchmark_name(int pipeline) {
  return pipeline > 1 ? "redis-benchmark-P" + std::to_string(pipeline) : "redis-benchmark";
}

RunReport run_redis_benchmark(const RedisBenchmarkArgs& a) {
  RunReport r;
  r.mode = redis_benchmark_name(a.pipeline);
  r.load_1m = load_average_1m();
  std::vector<std::string> argv{"redis-benchmark"};
  if (!a.url.path.empty()) {
    argv.insert(argv.end(), {"-s", a.url.path});
  } else {
    argv.insert(argv.end(), {"-h", a.url.host, "-p", std::to_string(a.url.port)});
  }
  if (!a.url.password.empty()) {
    if (!a.url.username.empty()) argv.insert(argv.end(), {"--user", a.url.username});
    argv.insert(argv.end(), {"-a", a.url.password});
  }
  if (a.url.db != 0) argv.insert(argv.end(), {"--dbnum", std::to_string(a.url.db)});
  argv.insert(argv.end(), {"-c", std::to_string(a.clients), "-d", std::to_string(a.value_size),
                           "-r", std::to_string(a.keyspace), "-n", std::to_string(a.requests), "-P",
                           std::to_string(a.pipeline), "-t", "set,get", "--csv"});
  auto run = run_process(argv);
  if (!run) return failure(r, run.error().to_string());
  // The password is never echoed: the report keeps only what redis-benchmark printed.
  auto first_line = [&] { return run->output.substr(0, run->output.find('\n')); };
  if (run->exit_code != 0) {
    return failure(
        r, "redis-benchmark exited with " + std::to_string(run->exit_code) + ": " + first_line());
  }
  const auto set = find_test(run->output, "SET");
  const auto get = find_test(run->output, "GET");
  if (!set || !get) return failure(r, "redis-benchmark printed no SET/GET result: " + first_line());
  const double n = static_cast<double>(a.requests);
  r.ops = 2 * a.requests;
  r.ops_per_sec = 2 * n / (n / set->rps + n / get->rps);
  r.p50_us = std::max(set->p50_ms, get->p50_ms) * 1000;
  r.p99_us = std::max(set->p99_ms, get->p99_ms) * 1000;
  r.cpu_us_per_op = run->cpu_seconds * 1e6 / (2 * n);
  return r;
}

}  // namespace connpool::cli
