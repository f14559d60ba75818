// `connpool firestore import | export | watch` against the real emulator: 1,200 documents (three
// BatchWrite requests, three export pages) imported, exported and copied identically; bad lines
// reported by number while the rest is written; watch sees another process's create / update /
// delete in order and exits 0 on SIGINT.
#include "cli_process.hpp"
#include "support/firestore_emulator.hpp"
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

using nlohmann::json;

class CliFirestore : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = testing::FirestoreEmulator::shared();
    if (emulator_ == nullptr) GTEST_SKIP() << "the Firestore emulator cannot start here";
  }
  [[nodiscard]] std::map<std::string, std::string> env() const {
    return {{"FIRESTORE_EMULATOR_HOST", emulator_->host()},
            {"GOOGLE_CLOUD_PROJECT", "connpool-cli-fs"}};
  }
  /// `connpool firestore ARGS < input_file`.
  [[nodiscard]] RunResult run_with_stdin(const std::string& args, const std::string& input) const {
    const std::string script =
        std::string("exec '") + CONNPOOL_BIN + "' firestore " + args + " < '" + input + "'";
    return run_program("/bin/sh", {"-c", script}, env(), std::chrono::seconds(120));
  }
  testing::FirestoreEmulator* emulator_ = nullptr;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// Document i with every value type (timestamps in microseconds: what the server keeps).
json document(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "doc%05d", i);
  json fields = {
      {"n", {{"integerValue", std::to_string(9007199254740993LL + i)}}},
      {"d", {{"doubleValue", 0.1 * i}}},
      {"s", {{"stringValue", "naïve \"quoted\" line " + std::to_string(i)}}},
      {"b", {{"booleanValue", i % 2 == 0}}},
      {"z", {{"nullValue", nullptr}}},
      {"t", {{"timestampValue", "2024-05-01T12:34:56.123456Z"}}},
      {"y", {{"bytesValue", "AAEC/w=="}}},
      {"g", {{"geoPointValue", {{"latitude", 1.5}, {"longitude", -0.25}}}}},
      {"a",
       {{"arrayValue",
         {{"values", json::array({json{{"integerValue", "1"}}, json{{"stringValue", "x"}}})}}}}},
      {"m", {{"mapValue", {{"fields", {{"k", {{"doubleValue", -2.5}}}}}}}}},
  };
  return {{"id", id}, {"fields", fields}};
}

TEST_F(CliFirestore, ImportExportRoundTripsTwelveHundredDocuments) {
  // make stress-firestore runs it with CONNPOOL_ROUNDTRIP_DOCS=10000 (outside make test).
  const char* docs_env = std::getenv("CONNPOOL_ROUNDTRIP_DOCS");
  const int kDocs = docs_env != nullptr && *docs_env != '\0' ? std::atoi(docs_env) : 1200;
  ASSERT_GT(kDocs, 0);
  std::string input;
  std::vector<json> expected;
  for (int i = 0; i < kDocs; ++i) {
    expected.push_back(document(i));
    input += expected.back().dump() + "\n";
  }
  TempConfig file(input);
  // A freshly started emulator (a cold JVM) can take more than the pool's 5 s acquire timeout to
  // answer its first connection on a loaded machine, and import does not retry acquire timeouts:
  // warm it up first (seen twice in a row at load average 9).
  (void)run_connpool({"firestore", "list"}, env(), std::chrono::seconds(120));
  auto imported = run_with_stdin("import rt_src --compact", file.path());
  ASSERT_EQ(imported.exit_code, 0) << imported.err.substr(0, 2000);
  EXPECT_EQ(json::parse(imported.out), (json{{"written", kDocs}, {"failed", 0}}));
  EXPECT_EQ(imported.err, "") << "no progress line when stderr is not a terminal";

  auto exported = run_connpool({"firestore", "export", "rt_src"}, env(), std::chrono::seconds(120));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const auto lines = lines_of(exported.out);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kDocs));
  for (int i = 0; i < kDocs; ++i) {
    // Parsed, not textual: the exporter writes doubles with 17 digits.
    ASSERT_EQ(json::parse(lines[i]), expected[i]) << "line " << i + 1;
  }

  // export | import into another collection | export: the same text.
  TempConfig dump(exported.out);
  auto copied = run_with_stdin("import rt_dst", dump.path());
  ASSERT_EQ(copied.exit_code, 0) << copied.err.substr(0, 2000);
  auto again = run_connpool({"firestore", "export", "rt_dst", "--page-size", "700"}, env(),
                            std::chrono::seconds(120));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(again.out == exported.out) << "the copy differs";
}

TEST_F(CliFirestore, ImportReportsBadLinesByNumberAndWritesTheRest) {
  const std::string good1 = document(1).dump();
  const std::string good2 = document(2).dump();
  const std::string good3 = document(3).dump();
  const std::string input = good1 + "\n" +             // 1
                            "not json\n" +             // 2
                            R"({"id": "x"})" + "\n" +  // 3
                            R"({"id": "y", "fields": {"n": {"integerValue": "1.5"}}})"
                            "\n" +  // 4
                            R"({"id": "a/b", "fields": {}})" +
                            "\n" +  // 5
                            "\n" +  // 6 blank
                            R"({"id": "big", "fields": {"s": {"stringValue": ")" +
                            std::string(1100000, 'x') + "\"}}}\n" +  // 7
                            good2 + "\r\n" +                         // 8
                            good3;                                   // 9, no final newline
  TempConfig file(input);
  auto r = run_with_stdin("import bad_lines --compact", file.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(json::parse(r.out), (json{{"written", 3}, {"failed", 5}})) << r.out;
  for (const char* want : {"line 2:", "line 3:", "\"fields\" must be an object", "line 4:",
                           "/n/integerValue", "line 5:", "a/b", "line 7: longer than 1048576"}) {
    EXPECT_NE(r.err.find(want), std::string::npos) << want << "\n" << r.err;
  }
  EXPECT_EQ(r.err.find("line 1:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("line 6:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("line 8:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("line 9:"), std::string::npos) << r.err;
  EXPECT_LT(r.err.size(), 4000u) << "the long line is not echoed";

  auto exported = run_connpool({"firestore", "export", "bad_lines"}, env());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(lines_of(exported.out), (std::vector<std::string>{good1, good2, good3}));
}

/// Waits until `pred(child.output())` holds, up to `limit`.
template <class Pred>
bool wait_output(const ServeChild& child, Pred pred, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred(child.output())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred(child.output());
}

/// The complete JSON lines (a line still being written is left for the next look).
std::vector<json> json_lines(const std::string& out) {
  std::vector<json> v;
  for (const auto& l : lines_of(out.substr(0, out.rfind('\n') + 1))) {
    if (!l.empty() && l.front() == '{') v.push_back(json::parse(l));
  }
  return v;
}

TEST_F(CliFirestore, WatchPrintsAnotherProcesssChangesInOrderAndExitsOnSigint) {
  const auto e = env();
  // run_connpool's stdin is not ours to fill: writes go through the shell.
  TempConfig seed(R"({"v": {"integerValue": "1"}})");
  ASSERT_EQ(run_with_stdin("set watched a", seed.path()).exit_code, 0);

  std::vector<std::string> child_env;
  for (const auto& [k, v] : e) child_env.push_back(k + "=" + v);
  ServeChild watch({"firestore", "watch", "watched", "--json"}, child_env);
  ASSERT_TRUE(wait_output(
      watch, [](const std::string& o) { return o.find("listening to") != std::string::npos; },
      std::chrono::seconds(60)))
      << watch.output();

  // Each write waits for the previous change to be printed: two writes landing in one snapshot
  // would be listed removals-first (the snapshot's order), which is not what this checks.
  const auto printed = [&watch](std::size_t n) {
    return wait_output(
        watch, [n](const std::string& o) { return json_lines(o).size() >= n; },
        std::chrono::seconds(60));
  };
  ASSERT_TRUE(printed(1)) << watch.output();
  TempConfig v2(R"({"v": {"integerValue": "2"}})");
  ASSERT_EQ(run_with_stdin("set watched b", v2.path()).exit_code, 0);
  ASSERT_TRUE(printed(2)) << watch.output();
  ASSERT_EQ(run_with_stdin("set watched a", v2.path()).exit_code, 0);
  ASSERT_TRUE(printed(3)) << watch.output();
  ASSERT_EQ(run_connpool({"firestore", "delete", "watched", "b"}, e).exit_code, 0);
  ASSERT_TRUE(printed(4)) << watch.output();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait_exit(std::chrono::seconds(30)), 0) << watch.output();

  const auto changes = json_lines(watch.output());
  ASSERT_EQ(changes.size(), 4u) << watch.output();
  const std::vector<std::pair<std::string, std::string>> want = {
      {"added", "a"}, {"added", "b"}, {"modified", "a"}, {"removed", "b"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(changes[i]["type"], want[i].first) << changes[i];
    EXPECT_EQ(changes[i]["id"], want[i].second) << changes[i];
  }
  EXPECT_EQ(changes[0]["document"]["fields"]["v"], (json{{"integerValue", "1"}}));
  EXPECT_EQ(changes[2]["document"]["fields"]["v"], (json{{"integerValue", "2"}}));
  EXPECT_TRUE(changes[1]["readTime"].is_string());
}

/// `connpool bench firestore ... --json` for a short run on `collection` (10 seeded documents).
RunResult run_bench(const std::map<std::string, std::string>& env, const std::string& op,
                    const std::string& collection) {
  return run_connpool(
      {"bench", "firestore", "--mode", "pooled", "--op", op, "--concurrency", "4", "--duration",
       "0.5", "--warmup", "0.2", "--docs", "10", "--collection", collection, "--json"},
      env, std::chrono::seconds(120));
}

TEST_F(CliFirestore, BenchChecksItsResultsAndReportsCpuPerOperation) {
  auto r = run_bench(env(), "all", "bench_ok");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.out;
  std::vector<std::string> ops;
  for (const auto& row : rows) {
    ops.push_back(row["op"].get<std::string>());
    EXPECT_GT(row["ops"].get<std::uint64_t>(), 0u) << row;
    EXPECT_EQ(row["errors"].get<std::uint64_t>(), 0u) << row;
    EXPECT_GT(row["cpu_us_per_op"].get<double>(), 0.0) << row;
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"get", "set", "query"}));
}

TEST_F(CliFirestore, BenchCountsAWrongQueryResultAsAnError) {
  // A document the bench did not seed matches `city == Paris`: 4 results where 3 are expected.
  TempConfig stray(R"({"id": "stray", "fields": {"city": {"stringValue": "Paris"}}})"
                   "\n");
  ASSERT_EQ(run_with_stdin("import bench_stray", stray.path()).exit_code, 0);
  auto r = run_bench(env(), "query", "bench_stray");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out;
  EXPECT_GT(rows[0]["errors"].get<std::uint64_t>(), 0u) << rows[0];
  EXPECT_NE(r.err.find("query city == Paris: 4 documents, expected 3"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace connpool::test
