// `connpool firestore ...` end to end against the emulator: get | set copies every typed value,
// exit codes, query and list output.
#include "fixture.hpp"
#include "support/fault_proxy.hpp"
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

namespace connpool::firestore::test {
namespace {

struct CliRun {
  int rc = -1;
  std::string out;
};

class CliTest : public FirestoreTest {
 protected:
  /// Runs `connpool firestore <args>` with the emulator environment; stdin from `input_file`.
  CliRun cli(const std::string& args, const std::string& input_file = "/dev/null") {
    const std::string cmd = "FIRESTORE_EMULATOR_HOST=" + emulator_->host() +
                            " GOOGLE_CLOUD_PROJECT=" + options_.project_id + " " +
                            CONNPOOL_CLI_PATH + " firestore " + args + " < " + input_file +
                            " 2>/dev/null";
    CliRun r;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      std::size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
      const int status = ::pclose(f);
      r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return r;
  }
  std::string temp_file(const std::string& content) {
    const std::string path = "/tmp/connpool-cli-test-" + std::to_string(::getpid()) + "-" +
                             std::to_string(files_++) + ".json";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& p : paths_) std::remove(p.c_str());
    FirestoreTest::TearDown();
  }
  int files_ = 0;
  std::vector<std::string> paths_;
};

TEST_F(CliTest, GetPipedIntoSetCopiesEveryTypedValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  Map fields{
      {"big", std::int64_t{9007199254740993}},
      {"min", std::numeric_limits<std::int64_t>::min()},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"negz", -0.0},
      {"inf", -std::numeric_limits<double>::infinity()},
      {"bytes", Bytes{all}},
      {"ts", Timestamp{1714566896, 123456000}},
      {"geo", GeoPoint{48.85, 2.35}},
      {"ref", Reference{"projects/" + options_.project_id + "/databases/(default)/documents/c/x"}},
      {"nested", Map{{"arr", Array{1, Map{{"inner", Array{"x", Null{}}}}, Map{{"k", true}}}}}},
      {"text", std::string("nul\0inside \xE2\x9C\x93", 14)}};
  ASSERT_OK(db().set_document("src", "doc", fields));

  auto got = cli("get src doc");
  ASSERT_EQ(got.rc, 0) << got.out;
  auto copied = cli("set dst copy", temp_file(got.out));
  ASSERT_EQ(copied.rc, 0) << copied.out;
  auto d = db().get_document("dst", "copy");
  ASSERT_OK(d);
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->fields, fields);
}

// The CLI's first connection is slower than the pool's 5 s acquire/connect timeouts (a cold
// emulator on a loaded machine, issue 14): a FaultProxy holds all traffic for 7 s. The import
// must wait for the channel, not fail every line of its first batch.
TEST_F(CliTest, ImportWaitsForASlowFirstConnection) {
  testing::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(emulator_->port()));
  proxy.stall(true);
  std::thread releaser([&proxy] {
    std::this_thread::sleep_for(std::chrono::seconds(7));
    proxy.stall(false);
  });
  std::string lines;
  for (int i = 0; i < 10; ++i) {
    lines += R"({"id": "d)" + std::to_string(i) + R"(", "fields": {"i": {"integerValue": ")" +
             std::to_string(i) + "\"}}}\n";
  }
  auto r =
      cli("import imp --emulator-host 127.0.0.1:" + std::to_string(proxy.port()), temp_file(lines));
  releaser.join();
  ASSERT_EQ(r.rc, 0) << r.out;
  for (int i = 0; i < 10; ++i) {
    auto d = db().get_document("imp", "d" + std::to_string(i));
    ASSERT_OK(d);
    EXPECT_TRUE(d->has_value()) << "d" << i;
  }
}

TEST_F(CliTest, ExitCodes) {
  EXPECT_EQ(cli("get src missing").rc, 1);
  EXPECT_EQ(cli("get src a/b").rc, 2);
  EXPECT_EQ(cli("set src x", temp_file("{\"a\": {\"integerValue\": \"nope\"}}")).rc, 2);
  EXPECT_EQ(cli("set src x --create", temp_file("{\"a\": {\"nullValue\": null}}")).rc, 0);
  EXPECT_EQ(cli("set src x --create", temp_file("{\"a\": {\"nullValue\": null}}")).rc, 1);
  EXPECT_EQ(cli("delete src x --must-exist").rc, 0);
  EXPECT_EQ(cli("delete src x --must-exist").rc, 1);
  EXPECT_EQ(cli("update src nope", temp_file("{\"a\": 1}") + " --plain").rc, 1);
}

TEST_F(CliTest, UpdateQueryAndList) {
  ASSERT_EQ(cli("set people p1 --plain", temp_file(R"({"age": 30, "city": "Oslo"})")).rc, 0);
  ASSERT_EQ(cli("set people p2 --plain", temp_file(R"({"age": 40, "city": "Lima"})")).rc, 0);
  ASSERT_EQ(cli("update people p1 --plain", temp_file(R"({"age": 31, "address.zip": "0150"})")).rc,
            0);
  auto p1 = db().get_document("people", "p1");
  ASSERT_OK(p1);
  EXPECT_EQ((*p1)->fields.at("age"), Value(31));
  EXPECT_EQ((*p1)->fields.at("address"), Value(Map{{"zip", "0150"}}));

  auto q = cli("query people -w 'age >= 31' --order-by age:desc --compact");
  ASSERT_EQ(q.rc, 0);
  auto j = parse_json(q.out);
  ASSERT_OK(j);
  ASSERT_TRUE(j->is_array());
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ((*j)[0]["fields"]["age"]["integerValue"], "40");
  auto n = cli("query people -w 'city == Oslo' --count --compact");
  ASSERT_EQ(n.rc, 0);
  EXPECT_EQ(*parse_json(n.out), nlohmann::json::parse(R"({"count": 1})"));
  EXPECT_EQ(cli("query people -w 'age ~ 3'").rc, 2);

  auto ids = cli("list people --compact");
  ASSERT_EQ(ids.rc, 0);
  EXPECT_EQ(*parse_json(ids.out), nlohmann::json::parse(R"(["p1","p2"])"));
  auto colls = cli("list --compact");
  ASSERT_EQ(colls.rc, 0);
  EXPECT_EQ(*parse_json(colls.out), nlohmann::json::parse(R"(["people"])"));
}

}  // namespace
}  // namespace connpool::firestore::test
