// deploy/grafana/connpool-dashboard.json: a well-formed Grafana dashboard whose every PromQL
// expression selects metrics (and labels) that `connpool serve` with a real Redis pool exposes.
#include "integration/monitor/http_test_client.hpp"
#include "promql.hpp"
#include "serve_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace connpool::test {
namespace {

using nlohmann::json;

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

TEST(Dashboard, EveryMetricAndLabelItQueriesExistsInRealMetricsOutput) {
  std::string error;
  auto serve = ServeProcess::start({}, &error);
  ASSERT_NE(serve, nullptr) << error;

  // Errors are exported per type once seen: stop Redis under `connpool serve --load` until some
  // show, then bring it back.
  serve->begin_outage();
  std::string metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = http_get(serve->admin_port(), "/metrics").body;
    if (metrics.find("connection_pool_errors_total{") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(serve->end_outage(&error)) << error;
  ASSERT_NE(metrics.find("connection_pool_errors_total{"), std::string::npos)
      << "no error series after an outage; log:\n"
      << serve->process().log();

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
