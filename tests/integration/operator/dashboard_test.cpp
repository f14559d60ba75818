// deploy/grafana/connpool-dashboard.json: a well-formed Grafana dashboard whose every PromQL
// expression selects metrics (and labels) that `connpool serve` exposes with a real Redis pool and
// a real Redis Cluster pool (3 primaries, no replicas, started once for this binary), so the
// "Redis Cluster nodes" row's `node` label is checked against real output too.
#include "integration/monitor/http_test_client.hpp"
#include "promql.hpp"
#include "serve_process.hpp"
#include "support/redis_cluster.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

using nlohmann::json;

RedisCluster* g_cluster = nullptr;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    RedisClusterOptions options;
    options.replicas_per_primary = 0;  // node pools of the primaries are all the dashboard needs
    cluster_ = RedisCluster::start(options, &error);
    if (!cluster_) {
      std::fprintf(stderr, "cannot start the Redis Cluster: %s\n", error.c_str());
      std::exit(1);
    }
    g_cluster = cluster_.get();
  }
  void TearDown() override {
    g_cluster = nullptr;
    cluster_.reset();
  }

 private:
  std::unique_ptr<RedisCluster> cluster_;
};

[[maybe_unused]] auto* const g_env =
    ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);  // gtest owns it

constexpr const char* kNodeRow = "Redis Cluster nodes";
constexpr const char* kProxyRow = "Proxies";

const std::string kDashboard =
    std::string(CONNPOOL_SOURCE_DIR) + "/deploy/grafana/connpool-dashboard.json";

json load_dashboard() {
  const auto text = read_file(kDashboard);
  EXPECT_FALSE(text.empty()) << kDashboard;
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << kDashboard << " is not valid JSON";
  return j;
}

// Every panel, including those nested in collapsed rows.
std::vector<json> all_panels(const json& dash) {
  std::vector<json> out;
  for (const auto& p : dash.value("panels", json::array())) {
    out.push_back(p);
    for (const auto& inner : p.value("panels", json::array())) out.push_back(inner);
  }
  return out;
}

// The panels nested in (or, when expanded, following) the row titled `row`.
std::vector<json> panels_of_row(const json& dash, const std::string& row) {
  std::vector<json> out;
  bool inside = false;
  for (const auto& p : dash.value("panels", json::array())) {
    if (p.value("type", "") == "row") {
      inside = p.value("title", "") == row;
      if (inside) {
        for (const auto& inner : p.value("panels", json::array())) out.push_back(inner);
      }
      continue;
    }
    if (inside) out.push_back(p);
  }
  return out;
}

// True when the exposition text has a sample `name{...}` carrying every one of `labels`
// (each a `key="value"` pair).
bool has_series(const std::string& text, const std::string& name,
                const std::vector<std::string>& labels) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const auto close = line.find("} ");
    const auto label_text = line.substr(0, close);
    if (std::all_of(labels.begin(), labels.end(), [&](const std::string& l) {
          return label_text.find("," + l) != std::string::npos ||
                 label_text.find("{" + l) != std::string::npos;
        })) {
      return true;
    }
  }
  return false;
}

// The sum of the values of every series of `name` that carries all of `labels`.
double series_sum(const std::string& text, const std::string& name,
                  const std::vector<std::string>& labels) {
  std::istringstream in(text);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const auto close = line.find("} ");
    if (close == std::string::npos) continue;
    const auto label_text = line.substr(0, close);
    if (std::all_of(labels.begin(), labels.end(), [&](const std::string& l) {
          return label_text.find("," + l) != std::string::npos ||
                 label_text.find("{" + l) != std::string::npos;
        })) {
      sum += std::strtod(line.c_str() + close + 2, nullptr);
    }
  }
  return sum;
}

struct Expr {
  std::string panel;
  std::string expr;
};

std::vector<Expr> all_exprs(const json& dash) {
  std::vector<Expr> out;
  for (const auto& p : all_panels(dash)) {
    for (const auto& t : p.value("targets", json::array())) {
      out.push_back({p.value("title", "?"), t.value("expr", "")});
    }
  }
  return out;
}

TEST(Dashboard, IsAWellFormedGrafanaDashboardWithAPoolVariable) {
  const auto dash = load_dashboard();
  ASSERT_TRUE(dash.is_object());
  EXPECT_GE(dash.value("schemaVersion", 0), 36);
  EXPECT_LE(dash.value("schemaVersion", 0), 41);
  EXPECT_FALSE(dash.value("title", "").empty());
  EXPECT_FALSE(dash.value("uid", "").empty());
  EXPECT_TRUE(dash["id"].is_null()) << "an exported dashboard must not pin a database id";

  // The pool variable lists pools from the size gauge, every pool at once or a selection.
  const json* pool = nullptr;
  const json* datasource = nullptr;
  for (const auto& v : dash["templating"]["list"]) {
    if (v.value("name", "") == "pool") pool = &v;
    if (v.value("name", "") == "datasource") datasource = &v;
  }
  ASSERT_NE(pool, nullptr) << "no `pool` template variable";
  EXPECT_EQ((*pool)["type"], "query");
  EXPECT_EQ((*pool)["definition"], "label_values(connection_pool_size, pool)");
  EXPECT_EQ((*pool)["query"]["query"], "label_values(connection_pool_size, pool)");
  EXPECT_TRUE((*pool)["multi"].get<bool>());
  EXPECT_TRUE((*pool)["includeAll"].get<bool>());
  ASSERT_NE(datasource, nullptr) << "no `datasource` variable: panels could not be re-pointed";
  EXPECT_EQ((*datasource)["query"], "prometheus");

  std::set<int> ids;
  int graphs = 0;
  for (const auto& p : all_panels(dash)) {
    const auto title = p.value("title", "");
    SCOPED_TRACE("panel " + title);
    ASSERT_TRUE(p.contains("id"));
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id";
    EXPECT_FALSE(title.empty());
    const auto& g = p["gridPos"];
    EXPECT_GE(g.value("x", -1), 0);
    EXPECT_LE(g.value("x", 0) + g.value("w", 0), 24) << "wider than the 24-column grid";
    EXPECT_GT(g.value("h", 0), 0);
    if (p.value("type", "") == "row") continue;
    ++graphs;
    EXPECT_EQ(p["datasource"]["uid"], "${datasource}");
    ASSERT_FALSE(p.value("targets", json::array()).empty()) << "panel without a query";
    std::set<std::string> ref_ids;
    for (const auto& t : p["targets"]) {
      EXPECT_TRUE(ref_ids.insert(t.value("refId", "")).second) << "duplicate refId";
      const auto expr = t.value("expr", "");
      EXPECT_NE(expr.find("pool=~\"$pool\""), std::string::npos)
          << "query ignores the pool variable: " << expr;
    }
  }
  EXPECT_GE(graphs, 10);
}

TEST(Dashboard, EveryQueryParsesAndCoversThePromisedMetrics) {
  const auto dash = load_dashboard();
  std::set<std::string> used;
  std::set<std::string> functions;
  for (const auto& [panel, expr] : all_exprs(dash)) {
    SCOPED_TRACE(panel + ": " + expr);
    const auto refs = parse_promql(expr);
    EXPECT_TRUE(refs.errors.empty()) << refs.errors.front();
    EXPECT_FALSE(refs.metrics.empty());
    for (const auto& [name, labels] : refs.metrics) used.insert(name);
    functions.insert(refs.functions.begin(), refs.functions.end());
    // Only the pool variable and Grafana's own rate interval.
    for (const auto& v : refs.variables) {
      EXPECT_TRUE(v == "pool" || v == "__rate_interval") << "unknown variable $" << v;
    }
  }
  // What issue 9 asks the dashboard to show.
  for (std::string m : {"connection_pool_utilization", "connection_pool_size",
                        "connection_pool_wait_seconds_bucket", "connection_usage_seconds_bucket",
                        "connection_pool_errors_total", "connection_pool_timeouts_total",
                        "connection_pool_health_checks_total", "connection_pool_circuit_state"}) {
    EXPECT_TRUE(used.contains(m)) << "the dashboard does not query " << m;
  }
  EXPECT_TRUE(functions.contains("histogram_quantile"));
  EXPECT_TRUE(functions.contains("rate"));
}

TEST(Dashboard, ClusterNodeRowSplitsByNodeAndSkipsSingleEndpointPools) {
  const auto dash = load_dashboard();
  const auto panels = panels_of_row(dash, kNodeRow);
  ASSERT_GE(panels.size(), 4u) << "no \"" << kNodeRow << "\" row with its panels";
  std::set<std::string> used;
  for (const auto& p : panels) {
    SCOPED_TRACE("panel " + p.value("title", ""));
    for (const auto& t : p.value("targets", json::array())) {
      const auto expr = t.value("expr", "");
      SCOPED_TRACE(expr);
      const auto refs = parse_promql(expr);
      // Split by node, and every selector keeps out the pools that have no node label (plain
      // Redis, Sentinel, Firestore): `by (node)` would draw them as one series with node="".
      EXPECT_TRUE(refs.grouping_labels.contains("node"));
      std::size_t selectors = 0;
      for (const auto& [name, labels] : refs.metrics) {
        used.insert(name);
        EXPECT_TRUE(labels.contains("node")) << name << " is not filtered on node";
        ++selectors;
      }
      std::size_t filters = 0;
      for (auto at = expr.find("node!=\"\""); at != std::string::npos;
           at = expr.find("node!=\"\"", at + 1)) {
        ++filters;
      }
      EXPECT_GE(filters, selectors) << "a selector without node!=\"\"";
      EXPECT_NE(t.value("legendFormat", "").find("{{node}}"), std::string::npos);
    }
  }
  // What the row promises (docs/operator.md).
  for (std::string m : {"connection_pool_size", "connection_pool_wait_seconds_bucket",
                        "connection_pool_errors_total", "connection_pool_circuit_state"}) {
    EXPECT_TRUE(used.contains(m)) << "the node row does not query " << m;
  }
}

// The proxy row (issue 20) shows every connection_proxy_* family, split by proxy.
TEST(Dashboard, ProxyRowQueriesEveryProxyFamilyByProxy) {
  const auto dash = load_dashboard();
  const auto panels = panels_of_row(dash, kProxyRow);
  ASSERT_GE(panels.size(), 4u) << "no \"" << kProxyRow << "\" row with its panels";
  std::set<std::string> used;
  for (const auto& p : panels) {
    for (const auto& t : p.value("targets", json::array())) {
      const auto expr = t.value("expr", "");
      SCOPED_TRACE(p.value("title", "") + ": " + expr);
      const auto refs = parse_promql(expr);
      EXPECT_TRUE(refs.grouping_labels.contains("proxy"));
      EXPECT_NE(t.value("legendFormat", "").find("{{proxy}}"), std::string::npos);
      for (const auto& [name, labels] : refs.metrics) {
        used.insert(name);
        EXPECT_TRUE(labels.contains("pool")) << name << " ignores the pool variable";
      }
    }
  }
  for (std::string m : {"connection_proxy_clients", "connection_proxy_pinned_clients",
                        "connection_proxy_subscribed_clients", "connection_proxy_commands_total",
                        "connection_proxy_refused_total", "connection_proxy_disconnects_total",
                        "connection_proxy_command_duration_seconds_bucket"}) {
    EXPECT_TRUE(used.contains(m)) << "the proxy row does not query " << m;
  }
}

// Sends `MONITOR` (refused by the proxy's rule), `SET` (forwarded) and `QUIT` to the proxy on
// `port`, and waits until the proxy closes the connection: all three are then counted.
void exercise_proxy(std::uint16_t port) {
  HttpTestClient client(port);
  client.send_raw(
      "*1\r\n$7\r\nMONITOR\r\n*3\r\n$3\r\nSET\r\n$9\r\ndashboard\r\n$1\r\n1\r\n"
      "*1\r\n$4\r\nQUIT\r\n");
  EXPECT_TRUE(client.closed_by_server()) << "the proxy did not close after QUIT";
}

TEST(Dashboard, EveryMetricAndLabelItQueriesExistsInRealMetricsOutput) {
  std::string error;
  const std::vector<std::uint16_t> primaries = g_cluster->primaries();
  ASSERT_EQ(primaries.size(), 3u);
  ServeOptions options;
  options.cluster_url = g_cluster->url();
  options.cluster_nodes = primaries.size();
  options.proxy_port = free_loopback_port();  // the proxy row's series
  auto serve = ServeProcess::start(options, &error);
  ASSERT_NE(serve, nullptr) << error;
  exercise_proxy(options.proxy_port);

  // Errors are exported per type once seen: stop the Redis under `connpool serve --load`, and
  // kill one primary of the cluster (its node pool's errors carry the node label), until both
  // show. The killed node stays down: the cluster serves this test only and is stopped at exit.
  const std::uint16_t victim = primaries.front();
  const std::string victim_node = "node=\"127.0.0.1:" + std::to_string(victim) + "\"";
  serve->begin_outage();
  g_cluster->kill(victim);
  std::string metrics;
  // The error series exist from each pool's creation (at 0): wait for the outage to count.
  const auto errors_of = [&](const std::vector<std::string>& labels) {
    return series_sum(metrics, "connection_pool_errors_total", labels) > 0;
  };
  const std::string cache = "pool=\"" + options.pool + "\"";
  const std::string shards = "pool=\"" + options.cluster_pool + "\"";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = http_get(serve->admin_port(), "/metrics").body;
    if (errors_of({cache}) && errors_of({shards, victim_node})) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(serve->end_outage(&error)) << error;
  ASSERT_TRUE(errors_of({cache})) << "no error counted after an outage; log:\n"
                                  << serve->process().log();
  ASSERT_TRUE(errors_of({shards, victim_node}))
      << "no error counted for the killed node " << victim_node << "; log:\n"
      << serve->process().log() << "\n/metrics:\n"
      << metrics;

  const auto exposition = parse_exposition(metrics);
  const auto dash = load_dashboard();
  std::size_t checked = 0;
  for (const auto& [panel, expr] : all_exprs(dash)) {
    SCOPED_TRACE(panel + ": " + expr);
    const auto refs = parse_promql(expr);
    std::set<std::string> labels_in_expr = {"le"};
    for (const auto& [name, labels] : refs.metrics) {
      ++checked;
      ASSERT_TRUE(exposition.has_metric(name)) << name << " is not in /metrics:\n" << metrics;
      const auto have = exposition.labels_of(name);
      labels_in_expr.insert(have.begin(), have.end());
      for (const auto& l : labels) {
        EXPECT_TRUE(have.contains(l)) << name << " has no label " << l;
      }
    }
    for (const auto& l : refs.grouping_labels) {
      EXPECT_TRUE(labels_in_expr.contains(l))
          << "grouping by a label no selected metric has: " << l;
    }
  }
  EXPECT_GT(checked, 15u);

  // And the variable's own query.
  EXPECT_TRUE(exposition.labels_of("connection_pool_size").contains("pool"));

  // The node row: every metric it selects is exported for every primary's node pool under the
  // cluster pool's name (so `pool=~"$pool"` picks it), and the plain pool's series have no
  // node label (so `node!=""` leaves that pool out, as the row's panels promise).
  std::size_t node_checked = 0;
  for (const auto& p : panels_of_row(dash, kNodeRow)) {
    for (const auto& t : p.value("targets", json::array())) {
      for (const auto& [name, labels] : parse_promql(t.value("expr", "")).metrics) {
        SCOPED_TRACE(p.value("title", "") + ": " + name);
        for (const auto port : primaries) {
          const std::string node = "node=\"127.0.0.1:" + std::to_string(port) + "\"";
          EXPECT_TRUE(has_series(metrics, name, {shards, node})) << "no series with " << node;
          ++node_checked;
        }
      }
    }
  }
  EXPECT_GE(node_checked, 15u);
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("{" + cache) != std::string::npos ||
        line.find("," + cache) != std::string::npos) {
      EXPECT_EQ(line.find("node="), std::string::npos)
          << "a single-endpoint pool with a node: " << line;
    }
  }
}

TEST(Promql, ScannerFindsMetricsLabelsAndGrouping) {
  const auto r = parse_promql(
      "histogram_quantile(0.99, sum by (pool, le) (rate(a_bucket{pool=~\"$pool\", x!=\"}\"}"
      "[$__rate_interval]))) / on (pool) group_left b + 2 * c{y=\"1\"} offset 5m");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_EQ(r.metrics.at("a_bucket"), (std::set<std::string>{"pool", "x"}));
  EXPECT_TRUE(r.metrics.at("b").empty());
  EXPECT_EQ(r.metrics.at("c"), (std::set<std::string>{"y"}));
  EXPECT_EQ(r.grouping_labels, (std::set<std::string>{"pool", "le"}));
  EXPECT_EQ(r.functions, (std::set<std::string>{"histogram_quantile", "sum", "rate"}));
  EXPECT_EQ(r.variables, (std::set<std::string>{"__rate_interval"}));

  const auto e = parse_exposition(
      "# TYPE h histogram\nh_bucket{pool=\"a\",le=\"0.1\"} 1\nh_sum{pool=\"a\"} 1\n"
      "h_count{pool=\"a\"} 1\n# TYPE g gauge\ng{pool=\"a\\\"b\",state=\"idle\"} 2\n");
  EXPECT_TRUE(e.has_metric("h_bucket"));
  EXPECT_TRUE(e.has_metric("h_count"));
  EXPECT_FALSE(e.has_metric("h"));
  EXPECT_TRUE(e.has_metric("g"));
  EXPECT_FALSE(e.has_metric("g_bucket"));
  EXPECT_EQ(e.labels_of("g"), (std::set<std::string>{"pool", "state"}));
  EXPECT_EQ(e.labels_of("h_bucket"), (std::set<std::string>{"pool", "le"}));
}

}  // namespace
}  // namespace connpool::test
