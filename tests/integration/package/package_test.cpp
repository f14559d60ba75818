// The installed package, used the three ways the README shows: find_package(connpool),
// pkg-config (from a relocated copy of the install), and the .deb files. Each route builds the
// examples outside this source tree's build and runs them against real servers.
//
// The install comes from the main build (no second build of the libraries); the consumer
// builds go through ccache with paths relative to the source tree, so a re-run compiles little.
#include "cli_process.hpp"
#include "support/firestore_emulator.hpp"
#include "support/redis_server.hpp"
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

const std::string kWork = PACKAGE_WORK_DIR;
const std::string kSource = PACKAGE_SOURCE_DIR;

// Runs a shell command line with ccache set up like the main build.
RunResult sh(const std::string& command, std::chrono::seconds timeout = 900s,
             std::map<std::string, std::string> env = {}) {
  env.emplace("CCACHE_BASEDIR", kSource);
  env.emplace("CCACHE_NOHASHDIR", "1");
  return run_program("/bin/sh", {"-c", command}, env, timeout);
}

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

// "ccache " to put before a compiler command, or "" without ccache.
std::string launcher() {
  const std::string ccache = PACKAGE_CCACHE;
  return ccache.empty() ? std::string() : quote(ccache) + " ";
}

// The same for a CMake configure line.
std::string cmake_launcher() {
  const std::string ccache = PACKAGE_CCACHE;
  return ccache.empty() ? std::string() : " -DCMAKE_CXX_COMPILER_LAUNCHER=" + quote(ccache);
}

// A sanitizer build installs instrumented static libraries, which only link into programs built
// with the same -fsanitize flag: the consumer builds get it too ("" in a normal build).
std::string cmake_sanitize() {
  const std::string flags = PACKAGE_SANITIZE;
  return flags.empty() ? std::string() : " -DCMAKE_CXX_FLAGS=" + quote(flags);
}

// The dev component of this build, installed once for the whole binary.
class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stdfs::create_directories(kWork);
    stdfs::remove_all(prefix());
    install_ = sh(quote(PACKAGE_CMAKE) + " --install " + quote(PACKAGE_BUILD_DIR) + " --prefix " +
                  quote(prefix()) + " --component dev");
  }
  static std::string prefix() { return kWork + "/prefix"; }
  void SetUp() override { ASSERT_EQ(install_.exit_code, 0) << install_.out << install_.err; }
  static RunResult install_;
};
RunResult PackageTest::install_;

// examples/embedded_service (however it was built): serves /metrics for its pool from a YAML
// file, counts requests in Redis, drains on SIGTERM and exits 0.
void expect_embedded_service_runs(const std::string& binary, const RedisServer& redis) {
  const std::uint16_t admin = free_loopback_port();
  TempConfig yaml("admin:\n  bind: 127.0.0.1\n  port: " + std::to_string(admin) +
                  "\npools:\n  cache:\n    backend: redis\n    url: redis://127.0.0.1:" +
                  std::to_string(redis.port()) + "\n");
  ServeChild service(binary, {yaml.path()}, {});
  std::string metrics;
  for (int i = 0; i < 300 && metrics.find("pool=\"cache\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    metrics = http_body(http_get(admin, "/metrics"));
  }
  EXPECT_NE(metrics.find("pool=\"cache\""), std::string::npos) << binary << service.output();
  for (int i = 0; i < 300 && service.output().find("request 1 ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(60s), 0) << service.output();
  EXPECT_NE(service.output().find("request 1 "), std::string::npos) << service.output();
  EXPECT_NE(service.output().find("drained after"), std::string::npos) << service.output();
}

TEST_F(PackageTest, InstallHasLibrariesHeadersCMakePackageAndPkgConfigFiles) {
  for (const char* file :
       {"lib/libconnpool_core.a", "lib/libconnpool_service.a", "lib/libconnpool_firestore_proto.a",
        "include/connpool/service/runtime.hpp", "include/connpool/core/pool.hpp",
        "lib/cmake/connpool/connpoolConfig.cmake", "lib/cmake/connpool/connpoolTargets.cmake",
        "lib/pkgconfig/connpool-core.pc", "lib/pkgconfig/connpool-redis.pc",
        "lib/pkgconfig/connpool-firestore.pc", "lib/pkgconfig/connpool-monitor.pc",
        "lib/pkgconfig/connpool-config.pc", "lib/pkgconfig/connpool-defaults.pc",
        "lib/pkgconfig/connpool-service.pc", "lib/libconnpool_defaults.a",
        "lib/pkgconfig/connpool-proxy.pc", "lib/libconnpool_proxy.a",
        "include/connpool/redis/default_pool.hpp"}) {
    EXPECT_TRUE(stdfs::exists(prefix() + "/" + file)) << file;
  }
  // The service layer's public headers stand alone: none reaches into a detail header.
  auto grep =
      sh("grep -rl 'detail/' " + quote(prefix() + "/include/connpool/service") + " || true");
  EXPECT_EQ(grep.out, "") << grep.out;
}

TEST_F(PackageTest, ExamplesBuildWithFindPackageAndRunAgainstRealServers) {
  const std::string build = kWork + "/cmake-consumer";
  stdfs::remove_all(build);
  auto configure =
      sh(quote(PACKAGE_CMAKE) + " -S " + quote(kSource + "/examples") + " -B " + quote(build) +
         " -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=" + quote(PACKAGE_CXX) +
         " -DCMAKE_PREFIX_PATH=" + quote(prefix()) + cmake_launcher() + cmake_sanitize());
  ASSERT_EQ(configure.exit_code, 0) << configure.out << configure.err;
  EXPECT_NE(configure.out.find("connpool " PACKAGE_VERSION " from " + prefix()), std::string::npos)
      << configure.out;
  auto build_run = sh(quote(PACKAGE_CMAKE) + " --build " + quote(build) + " -j 2");
  ASSERT_EQ(build_run.exit_code, 0) << build_run.out << build_run.err;

  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  const std::map<std::string, std::string> redis_env = {
      {"REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis->port())}};
  for (const char* example : {"example_redis_quickstart", "example_core_pool"}) {
    auto r = run_program(build + "/" + example, {}, redis_env, 60s);
    EXPECT_EQ(r.exit_code, 0) << example << "\n" << r.out << r.err;
  }
  expect_embedded_service_runs(build + "/example_embedded_service", *redis);

  auto emulator = testing::FirestoreEmulator::start();
  ASSERT_TRUE(emulator) << emulator.error().to_string();
  auto fs = run_program(build + "/example_firestore_quickstart", {},
                        {{"FIRESTORE_EMULATOR_HOST", (*emulator)->host()},
                         {"GOOGLE_CLOUD_PROJECT", "connpool-package"}},
                        120s);
  EXPECT_EQ(fs.exit_code, 0) << fs.out << fs.err;
}

TEST_F(PackageTest, ExamplesBuildWithPkgConfigOnlyFromARelocatedPrefix) {
  // A copy of the install somewhere else, as an unpacked tarball or a moved tree would be.
  const std::string moved = kWork + "/relocated";
  stdfs::remove_all(moved);
  auto copy = sh("cp -a " + quote(prefix()) + " " + quote(moved));
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  const std::map<std::string, std::string> pc_env = {{"PKG_CONFIG_PATH", moved + "/lib/pkgconfig"}};

  auto libs = sh("pkg-config --define-prefix --static --libs connpool-redis", 60s, pc_env);
  ASSERT_EQ(libs.exit_code, 0) << libs.err;
  EXPECT_NE(libs.out.find("-L" + moved + "/lib"), std::string::npos) << libs.out;
  EXPECT_EQ(libs.out.find(prefix() + "/"), std::string::npos) << libs.out;
  for (const char* lib : {"-lconnpool_redis", "-lconnpool_core", "-lhiredis", "-lssl"}) {
    EXPECT_NE(libs.out.find(lib), std::string::npos) << lib << " in " << libs.out;
  }

  const std::string out = kWork + "/pkgconfig-consumer";
  stdfs::remove_all(out);
  stdfs::create_directories(out);
  // Two programs: the Redis quick start (connpool-defaults: it calls the default-pool helpers,
  // which read the configuration) and the embedded service (connpool-service, which pulls in
  // every other .pc file).
  for (const auto& [source, module] : std::vector<std::pair<std::string, std::string>>{
           {"redis_quickstart", "connpool-defaults"}, {"embedded_service", "connpool-service"}}) {
    auto compile = sh(launcher() + quote(PACKAGE_CXX) + " -std=c++20 -O1 " PACKAGE_SANITIZE " " +
                          quote(kSource + "/examples/" + source + ".cpp") + " -o " +
                          quote(out + "/" + source) +
                          " $(pkg-config --define-prefix --static --cflags --libs " + module + ")",
                      900s, pc_env);
    ASSERT_EQ(compile.exit_code, 0) << source << "\n" << compile.out << compile.err;
  }
  std::string error;
  auto redis = RedisServer::start({}, &error);
  ASSERT_TRUE(redis) << error;
  auto r = run_program(out + "/redis_quickstart", {},
                       {{"REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis->port())}}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  expect_embedded_service_runs(out + "/embedded_service", *redis);
}

TEST(Package, VersionComesFromTheCMakeProject) {
  auto r = run_connpool({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, PACKAGE_VERSION "\n");
}

// deploy/systemd/connpool.service passes `systemd-analyze verify` with no warning. verify wants
// ExecStart's program to exist, so a copy points at the built binary.
TEST(Package, SystemdUnitVerifies) {
  const std::string analyze = PACKAGE_SYSTEMD_ANALYZE;
  if (analyze.empty()) GTEST_SKIP() << "systemd-analyze not installed (apt-get install systemd)";
  const std::string dir = kWork + "/systemd";
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  std::ifstream in(kSource + "/deploy/systemd/connpool.service");
  std::string unit(std::istreambuf_iterator<char>(in), {});
  for (const char* key :
       {"Type=notify", "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
        "/etc/connpool/connpool.yaml", "EnvironmentFile="}) {
    EXPECT_NE(unit.find(key), std::string::npos) << key;
  }
  const std::string installed = "ExecStart=/usr/bin/connpool ";
  const auto at = unit.find(installed);
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, installed.size(), std::string("ExecStart=") + CONNPOOL_BIN + " ");
  std::ofstream(dir + "/connpool.service") << unit;
  auto r = sh("cd " + quote(dir) + " && " + quote(analyze) +
                  " verify --recursive-errors=no ./connpool.service",
              120s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "") << "systemd-analyze warned:\n" << r.err;
}

// `make package`'s .deb files (cpack on this build), made once for the tests below.
struct Debs {
  RunResult cpack;
  std::string dir = kWork + "/deb";
  std::string dev = dir + "/libconnpool-dev_" PACKAGE_VERSION "_amd64.deb";
  std::string cli = dir + "/connpool_" PACKAGE_VERSION "_amd64.deb";
};
const Debs& debs() {
  static const Debs made = [] {
    Debs d;
    stdfs::remove_all(d.dir);
    d.cpack = sh("cd " + quote(PACKAGE_BUILD_DIR) + " && " + quote(PACKAGE_CPACK) + " -G DEB -B " +
                 quote(d.dir));
    return d;
  }();
  return made;
}

// Contents and Depends of both packages, read with dpkg-deb.
TEST(Package, DebianPackagesHaveTheirFilesAndDependencies) {
  const Debs& d = debs();
  ASSERT_EQ(d.cpack.exit_code, 0) << d.cpack.out << d.cpack.err;
  const std::string& dev = d.dev;
  const std::string& cli = d.cli;
  ASSERT_TRUE(stdfs::exists(dev)) << d.cpack.out;
  ASSERT_TRUE(stdfs::exists(cli)) << d.cpack.out;

  auto dev_files = sh("dpkg-deb -c " + quote(dev));
  for (const char* file : {"./usr/lib/libconnpool_redis.a", "./usr/lib/libconnpool_service.a",
                           "./usr/include/connpool/service/runtime.hpp",
                           "./usr/lib/cmake/connpool/connpoolConfig.cmake",
                           "./usr/lib/pkgconfig/connpool-service.pc"}) {
    EXPECT_NE(dev_files.out.find(file), std::string::npos) << file << "\n" << dev_files.out;
  }
  auto dev_depends = sh("dpkg-deb -f " + quote(dev) + " Depends");
  for (const char* dep :
       {"libboost1.81-dev", "libhiredis-dev", "libssl-dev", "libgrpc++-dev", "libprotobuf-dev",
        "libyaml-cpp-dev", "nlohmann-json3-dev", "prometheus-cpp-dev"}) {
    EXPECT_NE(dev_depends.out.find(dep), std::string::npos) << dep << " in " << dev_depends.out;
  }

  auto cli_files = sh("dpkg-deb -c " + quote(cli));
  for (const char* file : {"./usr/bin/connpool", "./usr/share/connpool/example.yaml",
                           "./usr/share/connpool/deploy/grafana/connpool-dashboard.json",
                           "./usr/share/connpool/deploy/systemd/connpool.service",
                           "./usr/share/connpool/deploy/prometheus.yml"}) {
    EXPECT_NE(cli_files.out.find(file), std::string::npos) << file << "\n" << cli_files.out;
  }
  EXPECT_EQ(cli_files.out.find("./usr/include"), std::string::npos) << cli_files.out;
  auto cli_fields = sh("dpkg-deb -f " + quote(cli) + " Package Version Depends");
  EXPECT_NE(cli_fields.out.find("Version: " PACKAGE_VERSION), std::string::npos) << cli_fields.out;
  // dpkg-shlibdeps: the shared libraries the program loads.
  for (const char* dep : {"libhiredis", "libgrpc++", "libprotobuf", "libyaml-cpp", "libc6"}) {
    EXPECT_NE(cli_fields.out.find(dep), std::string::npos) << dep << " in " << cli_fields.out;
  }
}

// Installed with apt-get, the packages give /usr/bin/connpool and a CMake package in /usr that
// a consumer builds against. Installing into /usr changes the machine: only as root on a
// disposable CI runner (CI=true).
TEST(Package, DebianPackagesInstallAndAConsumerBuildsAgainstUsr) {
  const char* ci = std::getenv("CI");
  if (::geteuid() != 0 || ci == nullptr || std::string(ci) != "true") {
    GTEST_SKIP() << "apt-get install of the .deb files runs only as root with CI=true";
  }
  const Debs& d = debs();
  ASSERT_EQ(d.cpack.exit_code, 0) << d.cpack.out << d.cpack.err;
  auto install =
      sh("cd " + quote(d.dir) +
         " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./" +
         stdfs::path(d.dev).filename().string() + " ./" + stdfs::path(d.cli).filename().string());
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  // Removed again however the checks below end.
  struct Remove {
    ~Remove() {
      auto r = sh("DEBIAN_FRONTEND=noninteractive apt-get remove -y connpool libconnpool-dev");
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
  } remove;
  auto version = run_program("/usr/bin/connpool", {"--version"});
  EXPECT_EQ(version.out, PACKAGE_VERSION "\n");
  const std::string build = kWork + "/usr-consumer";
  stdfs::remove_all(build);
  auto consumer =
      sh(quote(PACKAGE_CMAKE) + " -S " + quote(kSource + "/examples") + " -B " + quote(build) +
         " -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=" + quote(PACKAGE_CXX) +
         cmake_launcher() + cmake_sanitize() + " && " + quote(PACKAGE_CMAKE) + " --build " +
         quote(build) + " -j 2 --target example_redis_quickstart");
  EXPECT_EQ(consumer.exit_code, 0) << consumer.out << consumer.err;
  EXPECT_NE(consumer.out.find("connpool " PACKAGE_VERSION " from /usr/lib/cmake/connpool"),
            std::string::npos)
      << consumer.out;
  if (consumer.exit_code == 0) {
    std::string error;
    auto redis = RedisServer::start({}, &error);
    ASSERT_TRUE(redis) << error;
    auto r =
        run_program(build + "/example_redis_quickstart", {},
                    {{"REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis->port())}}, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
}

}  // namespace
}  // namespace connpool::test
