// `connpool bench redis` end to end: JSON fields per mode, the progress line, exit codes, the
// hiredis baselines, --compare, and the GET-after-SET check that keeps the numbers honest.
#include "support/redis_process.hpp"
#include "support/redis_server.hpp"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using connpool::test::loopback_connect;
using connpool::test::RedisServer;

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command with stdout captured (stderr redirected as the command says).
Output run(const std::string& cmd) {
  Output o;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  const int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// The integer after "name": in a JSON line; -1 when absent.
long long json_int(const std::string& line, const std::string& name) {
  const auto at = line.find("\"" + name + "\":");
  if (at == std::string::npos) return -1;
  return std::strtoll(line.c_str() + at + name.size() + 3, nullptr, 10);
}

// A second client that keeps overwriting `key` with another value while it runs (pipelined SETs
// on a raw socket), so a benchmark that GETs its own key back sees foreign values.
class Overwriter {
 public:
  Overwriter(std::uint16_t port, std::string key)
      : thread_([this, port, key] { run(port, key); }) {}
  ~Overwriter() {
    stop_ = true;
    thread_.join();
  }
  [[nodiscard]] long long writes() const { return writes_.load(); }

 private:
  void run(std::uint16_t port, const std::string& key) {
    const int fd = loopback_connect(port);
    if (fd < 0) return;
    constexpr int kBatch = 16;
    std::string batch;
    for (int i = 0; i < kBatch; ++i) batch += "SET " + key + " not-the-benchmark-value\r\n";
    char buf[4096];
    while (!stop_) {
      if (::send(fd, batch.data(), batch.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(batch.size())) {
        break;
      }
      std::size_t want = kBatch * 5;  // "+OK\r\n" each
      while (want > 0) {
        const ssize_t n = ::recv(fd, buf, std::min(want, sizeof buf), 0);
        if (n <= 0) break;
        want -= static_cast<std::size_t>(n);
      }
      if (want > 0) break;
      writes_ += kBatch;
    }
    ::close(fd);
  }

  std::atomic<bool> stop_{false};
  std::atomic<long long> writes_{0};
  std::thread thread_;
};

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    server_ = RedisServer::start({}, &err);
    ASSERT_TRUE(server_) << err;
  }
  std::string bench(const std::string& args) const {
    return std::string(CONNPOOL_CLI) +
           " bench redis --url redis://127.0.0.1:" + std::to_string(server_->port()) + " " + args;
  }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(BenchCli, JsonOneObjectPerMode) {
  auto o = run(bench("--concurrency 4 --duration 0.5 --pipeline-auto both --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 2u) << o.out;
  for (const auto& l : ls) {
    for (const char* field :
         {"\"backend\":\"redis\"", "\"mode\":", "\"concurrency\":4", "\"duration_s\":", "\"ops\":",
          "\"ops_per_sec\":", "\"p50_us\":", "\"p99_us\":", "\"p999_us\":", "\"errors\":0"}) {
      EXPECT_NE(l.find(field), std::string::npos) << field << " missing in " << l;
    }
  }
  EXPECT_NE(ls[0].find("\"mode\":\"pool-auto-pipeline\""), std::string::npos);
  EXPECT_NE(ls[1].find("\"mode\":\"pool\""), std::string::npos);
}

// --spin-us: the io thread polls before it sleeps (core::run_io_loop); the runs still check
// every GET and report the setting.
TEST_F(BenchCli, SpinningIoThreadRunsVerifiedOperations) {
  auto o = run(bench("--concurrency 2 --duration 0.5 --spin-us 50 --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 1u) << o.out;
  EXPECT_NE(ls[0].find("\"spin_us\":50"), std::string::npos) << ls[0];
  EXPECT_NE(ls[0].find("\"errors\":0"), std::string::npos) << ls[0];
  EXPECT_EQ(ls[0].find("\"ops\":0,"), std::string::npos) << ls[0];
  EXPECT_NE(run(bench("--spin-us -1 2>&1")).exit_code, 0);
}

TEST_F(BenchCli, NoPoolMode) {
  auto o = run(bench("--concurrency 2 --duration 0.5 --no-pool --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("\"mode\":\"no-pool\""), std::string::npos) << o.out;
}

TEST_F(BenchCli, ProgressLineWithoutJson) {
  auto o = run(bench("--concurrency 2 --duration 1.5 --pipeline-auto off 2>&1"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("[redis pool]"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("ops/s="), std::string::npos) << o.out;
}

TEST_F(BenchCli, UnreachableServerFailsAndBadUrlIsAConfigError) {
  const auto port = connpool::test::free_loopback_port();
  auto down = run(std::string(CONNPOOL_CLI) + " bench redis --url 'redis://:pw@127.0.0.1:" +
                  std::to_string(port) + "?acquire_timeout=200ms' --duration 0.2 2>&1");
  EXPECT_EQ(down.exit_code, 1) << down.out;
  EXPECT_NE(down.out.find("refused"), std::string::npos) << down.out;
  EXPECT_EQ(down.out.find(":pw@"), std::string::npos) << "password leaked: " << down.out;
  auto bad = run(std::string(CONNPOOL_CLI) + " bench redis --url redis://h:port 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

TEST_F(BenchCli, HiredisBaselinesReportLikeTheOtherModes) {
  auto o = run(bench("--concurrency 4 --duration 0.5 --baseline both --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 2u) << o.out;
  for (const auto& l : ls) {
    for (const char* field : {"\"backend\":\"redis\"", "\"concurrency\":4",
                              "\"ops_per_sec\":", "\"p50_us\":", "\"p99_us\":", "\"errors\":0",
                              "\"client_cpu_us_per_op\":", "\"load_avg_1m\":"}) {
      EXPECT_NE(l.find(field), std::string::npos) << field << " missing in " << l;
    }
    EXPECT_GT(json_int(l, "ops"), 0) << l;
  }
  EXPECT_NE(ls[0].find("\"mode\":\"hiredis-threads\""), std::string::npos) << ls[0];
  EXPECT_EQ(json_int(ls[0], "connections_opened"), 4) << "one connection per caller thread";
  EXPECT_NE(ls[1].find("\"mode\":\"hiredis-pool\""), std::string::npos) << ls[1];
  // The pool is as large as the exclusive-lease mode's (max_size 10 by default, >= callers) and
  // opens connections lazily: never more than the callers need.
  EXPECT_EQ(json_int(ls[1], "pool_max_size"), 10) << ls[1];
  EXPECT_GE(json_int(ls[1], "connections_opened"), 1) << ls[1];
  EXPECT_LE(json_int(ls[1], "connections_opened"), 4) << ls[1];
}

TEST_F(BenchCli, HiredisPoolSharesPoolSizeConnections) {
  auto o =
      run(bench("--concurrency 6 --pool-size 2 --duration 0.5 --baseline hiredis-pool "
                "--json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_EQ(json_int(o.out, "pool_max_size"), 2) << o.out;
  EXPECT_EQ(json_int(o.out, "connections_opened"), 2) << o.out;
  EXPECT_GT(json_int(o.out, "ops"), 0) << o.out;
  EXPECT_EQ(json_int(o.out, "errors"), 0) << o.out;
}

TEST_F(BenchCli, CompareRunsEveryModeAndPrintsRatios) {
  auto o = run(bench("--concurrency 2 --duration 0.3 --compare --rounds 2 --json 2>/dev/null"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 9u) << o.out;  // 2 rounds x 4 modes, then the summary
  int seen[4] = {0, 0, 0, 0};
  const char* modes[4] = {"\"mode\":\"pool-auto-pipeline\"", "\"mode\":\"pool\"",
                          "\"mode\":\"hiredis-threads\"", "\"mode\":\"hiredis-pool\""};
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_GT(json_int(ls[i], "ops"), 0) << ls[i];
    EXPECT_EQ(json_int(ls[i], "errors"), 0) << ls[i];
    for (int m = 0; m < 4; ++m) seen[m] += ls[i].find(modes[m]) != std::string::npos ? 1 : 0;
  }
  for (int m = 0; m < 4; ++m) EXPECT_EQ(seen[m], 2) << modes[m];
  EXPECT_NE(ls[0], ls[4]) << "the order rotates between rounds";
  const std::string& summary = ls[8];
  EXPECT_NE(summary.find("\"compare\":true"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"round\":2"), std::string::npos) << summary;
  for (const char* ratio : {"pool-auto-pipeline/hiredis-threads", "pool-auto-pipeline/hiredis-pool",
                            "pool/hiredis-threads", "pool/hiredis-pool"}) {
    const auto median = summary.find("\"median_ratios\":");
    ASSERT_NE(median, std::string::npos) << summary;
    EXPECT_NE(summary.find(std::string("\"") + ratio + "\":", median), std::string::npos)
        << ratio << " missing in " << summary;
  }
}

// Every mode checks that GET returns the value it SET just before: with another client
// overwriting the one key, each mode must report errors and fail, not count the ops as good.
TEST_F(BenchCli, WrongValuesFromTheServerAreErrors) {
  for (const char* mode : {"--baseline hiredis-threads", "--baseline hiredis-pool",
                           "--pipeline-auto on", "--pipeline-auto off"}) {
    Overwriter other(server_->port(), "bench:key:0");
    auto o = run(
        bench(std::string("--concurrency 1 --keyspace 1 --duration 1 --json ") + mode + " 2>&1"));
    EXPECT_EQ(o.exit_code, 1) << mode << ": " << o.out;
    EXPECT_GT(json_int(o.out, "errors"), 0) << mode << ": " << o.out;
    EXPECT_NE(o.out.find("than the SET before it"), std::string::npos) << mode << ": " << o.out;
    EXPECT_GT(other.writes(), 0) << "the overwriter never ran";
  }
}

TEST_F(BenchCli, BaselineRejectsTlsAndReportsAnUnreachableServer) {
  auto tls = run(std::string(CONNPOOL_CLI) +
                 " bench redis --url rediss://127.0.0.1:1 --baseline hiredis-threads 2>&1");
  EXPECT_EQ(tls.exit_code, 2) << tls.out;
  EXPECT_NE(tls.out.find("TLS"), std::string::npos) << tls.out;
  const auto port = connpool::test::free_loopback_port();
  auto down = run(std::string(CONNPOOL_CLI) + " bench redis --url 'redis://:pw@127.0.0.1:" +
                  std::to_string(port) + "' --baseline hiredis-pool --duration 0.2 2>&1");
  EXPECT_EQ(down.exit_code, 1) << down.out;
  EXPECT_NE(down.out.find("refused"), std::string::npos) << down.out;
  EXPECT_EQ(down.out.find("pw"), std::string::npos) << "password leaked: " << down.out;
}

// The top-level keys of a one-line JSON object (nested objects skipped), in order.
std::vector<std::string> top_keys(const std::string& line) {
  std::vector<std::string> keys;
  int depth = 0;
  bool in_string = false;
  std::string current;
  bool expect_key = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
        if (expect_key && depth == 1 && i + 1 < line.size() && line[i + 1] == ':') {
          keys.push_back(current);
        }
      } else {
        current += c;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      current.clear();
    } else if (c == '{') {
      ++depth;
      expect_key = true;
    } else if (c == '}') {
      --depth;
    } else if (c == ',') {
      expect_key = true;
    } else if (c == ':') {
      expect_key = false;
    }
  }
  return keys;
}

TEST_F(BenchCli, SizingRunsEveryModeOnTheSameWorkloadWithTheIssueFields) {
  auto o = run(std::string(CONNPOOL_CLI) + " bench sizing --url redis://127.0.0.1:" +
               std::to_string(server_->port()) + " --scale 0.05 --connect-delay 50ms --json");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 3u) << o.out;
  const std::vector<std::string> fields = {"p50_acquire_wait_us", "p99_acquire_wait_us",
                                           "acquire_timeouts", "connection_seconds",
                                           "max_size_reached"};
  const char* modes[] = {"fixed", "reactive", "predictive"};
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<std::string> want = {"mode"};
    want.insert(want.end(), fields.begin(), fields.end());
    want.push_back("phases");
    EXPECT_EQ(top_keys(ls[i]), want) << ls[i];
    EXPECT_NE(ls[i].find(std::string("\"mode\":\"") + modes[i] + "\""), std::string::npos);
    for (const char* phase : {"ramp", "spike", "wave"}) {
      const auto at = ls[i].find(std::string("\"") + phase + "\":{");
      ASSERT_NE(at, std::string::npos) << phase << " missing in " << ls[i];
      const std::string obj = ls[i].substr(at + std::string(phase).size() + 3);
      EXPECT_EQ(top_keys(obj.substr(0, obj.find('}') + 1)), fields) << obj;
    }
    EXPECT_LE(json_int(ls[i], "p50_acquire_wait_us"), json_int(ls[i], "p99_acquire_wait_us"));
    // min_size 2 connections stay open for the whole run: it cannot be 0.
    EXPECT_GT(std::strtod(ls[i].c_str() + ls[i].find("\"connection_seconds\":") + 21, nullptr), 0.0)
        << ls[i];
  }
}

TEST_F(BenchCli, SizingRejectsABadDelayOrMode) {
  const std::string base = std::string(CONNPOOL_CLI) + " bench sizing --url redis://127.0.0.1:" +
                           std::to_string(server_->port());
  auto delay = run(base + " --connect-delay fast 2>&1");
  EXPECT_EQ(delay.exit_code, 2) << delay.out;
  EXPECT_NE(delay.out.find("--connect-delay"), std::string::npos) << delay.out;
  auto mode = run(base + " --modes fixed,elastic 2>&1");
  EXPECT_EQ(mode.exit_code, 2) << mode.out;
  EXPECT_NE(mode.out.find("--modes"), std::string::npos) << mode.out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `--sweep` over one point, one round: every client runs against the real server, the files
// have the documented columns, every run did operations without errors, and every client that
// checks its GETs (all but redis-benchmark) verified each one.
TEST_F(BenchCli, SweepOnePointWritesVerifiedRunsAndMedians) {
  const auto dir =
      std::filesystem::path(::testing::TempDir()) / ("sweep-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto o =
      run(bench("--sweep --sweep-callers 2 --sweep-values 1024 --rounds 1 --duration 0.3 "
                "--sweep-name s --out-dir " +
                dir.string() + " 2>&1"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("2 callers, 1 KiB"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("auto/rb="), std::string::npos) << o.out;

  const auto runs = lines(read_file(dir / "s-runs.csv"));
  ASSERT_EQ(runs.size(), 6u) << "a header and one run per client";
  EXPECT_EQ(runs[0],
            "callers,value_size,round,client,ops_per_sec,p50_us,p99_us,cpu_us_per_op,ops,errors,"
            "verified,load_avg_1m,exit_code");
  std::vector<std::string> clients;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    std::vector<std::string> f;
    std::stringstream row(runs[i]);
    for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
    ASSERT_EQ(f.size(), 13u) << runs[i];
    EXPECT_EQ(f[0], "2");
    EXPECT_EQ(f[1], "1024");
    EXPECT_EQ(f[2], "1");
    clients.push_back(f[3]);
    EXPECT_GT(std::stod(f[4]), 0) << runs[i];
    EXPECT_GT(std::stod(f[7]), 0) << "client CPU per op: " << runs[i];
    const long long ops = std::stoll(f[8]);
    EXPECT_GT(ops, 0) << runs[i];
    EXPECT_EQ(f[9], "0") << "errors: " << runs[i];
    EXPECT_EQ(f[12], "0") << "exit code: " << runs[i];
    if (f[3].rfind("redis-benchmark", 0) != 0) {
      // One GET per SET, each checked against the value just written.
      EXPECT_EQ(std::stoll(f[10]) * 2, ops) << "verified: " << runs[i];
    }
  }
  std::sort(clients.begin(), clients.end());
  EXPECT_EQ(clients, (std::vector<std::string>{"hiredis-pool", "pool", "pool-auto-pipeline",
                                               "redis-benchmark", "redis-benchmark-P16"}));

  const auto medians = lines(read_file(dir / "s.csv"));
  ASSERT_EQ(medians.size(), 6u);
  EXPECT_EQ(medians[0],
            "callers,value_size,client,ops_per_sec,p99_us,cpu_us_per_op,ok_runs,auto/rb,"
            "auto/hpool,excl/hpool,auto/rbP16,spin/rb,spin/hpool");
  const std::string json = read_file(dir / "s.json");
  for (const char* field : {"\"sweep\":true", "\"load_avg_1m_start\":", "\"points\":[",
                            "\"pool-auto-pipeline/redis-benchmark\":", "\"pool/hiredis-pool\":",
                            "\"median\":{\"ops_per_sec\":"}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << " in " << json;
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    EXPECT_NE(read_file(dir / "s.svg").find("<svg"), std::string::npos);
    EXPECT_GT(std::filesystem::file_size(dir / "s.png"), 1000u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
