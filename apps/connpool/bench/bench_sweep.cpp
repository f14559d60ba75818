#include "bench/bench_sweep.hpp"

#include "bench/bench_process.hpp"
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

namespace connpool::cli {

namespace {

// Every run of one client at one point, one per round (a failed run is kept, with its code).
struct Series {
  std::string client;
  std::vector<RunReport> runs;
};

struct PointResult {
  SweepPoint point;
  std::vector<Series> series;  // in options.clients order

  [[nodiscard]] const Series* find(std::string_view client) const {
    for (const auto& s : series) {
      if (s.client == client) return &s;
    }
    return nullptr;
  }
};

struct Medians {
  double ops_per_sec = 0;
  double p99_us = 0;
  double cpu_us_per_op = 0;
  int ok_runs = 0;
};

bool usable(const RunReport& r) {
  return r.exit_code == 0 && r.ops > 0 && r.errors == 0;
}

Medians medians(const Series& s) {
  std::vector<double> ops;
  std::vector<double> p99;
  std::vector<double> cpu;
  for (const auto& r : s.runs) {
    if (!usable(r)) continue;
    ops.push_back(r.ops_per_sec);
    p99.push_back(r.p99_us);
    cpu.push_back(r.cpu_us_per_op);
  }
  return {median(ops), median(p99), median(cpu), static_cast<int>(ops.size())};
}

// connpool's modes over each reference: the median of the per-round ratios (runs of one round
// are minutes apart at most, so their ratio is what survives a shared machine's noise).
struct Pair {
  std::string_view ours;
  std::string_view theirs;
  std::string_view label;
};
constexpr std::array<Pair, 6> kPairs{{
    {"pool-auto-pipeline", "redis-benchmark", "auto/rb"},
    {"pool-auto-pipeline", "hiredis-pool", "auto/hpool"},
    {"pool", "hiredis-pool", "excl/hpool"},
    {"pool-auto-pipeline", "redis-benchmark-P16", "auto/rbP16"},
    {"pool-auto-pipeline-spin", "redis-benchmark", "spin/rb"},
    {"pool-auto-pipeline-spin", "hiredis-pool", "spin/hpool"},
}};

std::optional<double> ratio(const PointResult& p, const Pair& pair) {
  const Series* a = p.find(pair.ours);
  const Series* b = p.find(pair.theirs);
  if (a == nullptr || b == nullptr) return std::nullopt;
  std::vector<double> per_round;
  for (std::size_t r = 0; r < a->runs.size() && r < b->runs.size(); ++r) {
    if (usable(a->runs[r]) && usable(b->runs[r]) && b->runs[r].ops_per_sec > 0) {
      per_round.push_back(a->runs[r].ops_per_sec / b->runs[r].ops_per_sec);
    }
  }
  if (per_round.empty()) return std::nullopt;
  return median(per_round);
}

std::string value_label(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string run_json(const RunReport& r, int round) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"round\":%d,\"ops_per_sec\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                "\"cpu_us_per_op\":%.2f,\"ops\":%llu,\"errors\":%llu,\"verified\":%llu,"
                "\"load_avg_1m\":%.2f,\"exit_code\":%d",
                round, r.ops_per_sec, r.p50_us, r.p99_us, r.cpu_us_per_op,
                static_cast<unsigned long long>(r.ops), static_cast<unsigned long long>(r.errors),
                static_cast<unsigned long long>(r.verified), r.load_1m, r.exit_code);
  std::string out = buf;
  if (!r.error.empty()) out += ",\"error\":" + json_string(r.error);
  return out + "}";
}

struct Sitting {
  double load_start = 0;
  double load_end = 0;
};

bool write_files(const SweepOptions& o, const std::vector<PointResult>& points,
                 const Sitting& sitting) {
  namespace fs = std::filesystem;
  const fs::path dir(o.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream runs(dir / (o.name + "-runs.csv"));
  std::ofstream meds(dir / (o.name + ".csv"));
  std::ofstream json(dir / (o.name + ".json"));
  if (!runs || !meds || !json) {
    std::fprintf(stderr, "connpool bench redis --sweep: cannot write to %s\n", o.out_dir.c_str());
    return false;
  }
  runs << "callers,value_size,round,client,ops_per_sec,p50_us,p99_us,cpu_us_per_op,ops,errors,"
          "verified,load_avg_1m,exit_code\n";
  meds << "callers,value_size,client,ops_per_sec,p99_us,cpu_us_per_op,ok_runs";
  for (const auto& pair : kPairs) meds << ',' << pair.label;
  meds << '\n';
  char buf[512];
  json << "{\"backend\":\"redis\",\"sweep\":true,\"rounds\":" << o.rounds
       << ",\"duration_s\":" << o.duration_s;
  std::snprintf(buf, sizeof buf, ",\"load_avg_1m_start\":%.2f,\"load_avg_1m_end\":%.2f",
                sitting.load_start, sitting.load_end);
  json << buf << ",\"points\":[";
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    json << (i == 0 ? "" : ",") << "{\"callers\":" << p.point.callers
         << ",\"value_size\":" << p.point.value_size << ",\"clients\":{";
    for (std::size_t s = 0; s < p.series.size(); ++s) {
      const auto& series = p.series[s];
      const Medians m = medians(series);
      std::snprintf(buf, sizeof buf,
                    "\"median\":{\"ops_per_sec\":%.1f,\"p99_us\":%.0f,\"cpu_us_per_op\":%.2f,"
                    "\"ok_runs\":%d}",
                    m.ops_per_sec, m.p99_us, m.cpu_us_per_op, m.ok_runs);
      json << (s == 0 ? "" : ",") << json_string(series.client) << ":{" << buf << ",\"runs\":[";
      for (std::size_t r = 0; r < series.runs.size(); ++r) {
        const RunReport& run = series.runs[r];
        json << (r == 0 ? "" : ",") << run_json(run, static_cast<int>(r) + 1);
        std::snprintf(buf, sizeof buf, "%d,%zu,%zu,%s,%.1f,%.0f,%.0f,%.2f,%llu,%llu,%llu,%.2f,%d\n",
                      p.point.callers, p.point.value_size, r + 1, series.client.c_str(),
                      run.ops_per_sec, run.p50_us, run.p99_us, run.cpu_us_per_op,
                      static_cast<unsigned long long>(run.ops),
                      static_cast<unsigned long long>(run.errors),
                      static_cast<unsigned long long>(run.verified), run.load_1m, run.exit_code);
        runs << buf;
      }
      json << "]}";
      std::snprintf(buf, sizeof buf, "%d,%zu,%s,%.1f,%.0f,%.2f,%d", p.point.callers,
                    p.point.value_size, series.client.c_str(), m.ops_per_sec, m.p99_us,
                    m.cpu_us_per_op, m.ok_runs);
      meds << buf;
      // The ratios belong to the point; they are repeated on each of its rows for filtering.
      for (const auto& pair : kPairs) {
        const auto r = ratio(p, pair);
        meds << ',';
        if (r) meds << *r;
      }
      meds << '\n';
    }
    json << "},\"ratios\":{";
    bool first = true;
    for (const auto& pair : kPairs) {
      if (const auto r = ratio(p, pair)) {
        std::snprintf(buf, sizeof buf, "%s\"%s/%s\":%.3f", first ? "" : ",",
                      std::string(pair.ours).c_str(), std::string(pair.theirs).c_str(), *r);
        json << buf;
        first = false;
      }
    }
    json << "}}";
  }
  json << "]}\n";
  return static_cast<bool>(runs) && static_cast<bool>(meds) && static_cast<bool>(json);
}

// The gnuplot script: two panels (ops/s, p99), x = callers (log), one line per client (colour)
// and value size (dash and point type). The data go inline as datablocks.
std::string plot_script(const SweepOptions& o, const std::vector<PointResult>& points,
                        const Sitting& sitting, const std::string& terminal,
                        const std::string& file) {
  std::ostringstream gp;
  gp << "set terminal " << terminal << "\nset output '" << file << "'\n";
  std::vector<std::pair<std::string, std::string>> blocks;  // name, title
  for (std::size_t c = 0; c < o.clients.size(); ++c) {
    for (std::size_t v = 0; v < o.values.size(); ++v) {
      const std::string name = "$d" + std::to_string(c) + "_" + std::to_string(v);
      gp << name << " << EOD\n";
      for (const auto& p : points) {
        if (p.point.value_size != o.values[v]) continue;
        const Series* s = p.find(o.clients[c]);
        if (s == nullptr) continue;
        const Medians m = medians(*s);
        if (m.ok_runs > 0) gp << p.point.callers << ' ' << m.ops_per_sec << ' ' << m.p99_us << '\n';
      }
      gp << "EOD\n";
      blocks.emplace_back(name, o.clients[c] + ", " + value_label(o.values[v]));
    }
  }
  char title[256];
  std::snprintf(title, sizeof title,
                "connpool bench redis --sweep: medians of %d rounds of %.1f s, load average %.2f "
                "→ %.2f",
                o.rounds, o.duration_s, sitting.load_start, sitting.load_end);
  gp << "set multiplot layout 1,2 title '" << title << "'\n"
     << "set logscale xy\nset grid\nset xlabel 'callers'\nset xtics (";
  for (std::size_t i = 0; i < o.callers.size(); ++i) gp << (i ? "," : "") << o.callers[i];
  gp << ")\nset offsets graph 0.05, graph 0.05, 0, 0\nset key outside bottom center horizontal "
        "maxrows 5 font ',9'\n";
  auto plot = [&](const char* ylabel, int column) {
    gp << "set ylabel '" << ylabel << "'\nplot ";
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const std::size_t c = b / o.values.size();
      const std::size_t v = b % o.values.size();
      gp << (b ? ", " : "") << blocks[b].first << " using 1:" << column << " with linespoints lc "
         << c + 1 << " dt " << v + 1 << " pt " << v + 5 << " title '" << blocks[b].second << "'";
    }
    gp << "\n";
  };
  plot("ops/s (SET+GET)", 2);
  plot("p99 latency (µs)", 3);
  gp << "unset multiplot\n";
  return gp.str();
}

void write_plot(const SweepOptions& o, const std::vector<PointResult>& points,
                const Sitting& sitting, const std::string& terminal, const std::string& ext) {
  namespace fs = std::filesystem;
  const std::string file = (fs::path(o.out_dir) / (o.name + ext)).string();
  char script_path[] = "/tmp/connpool-sweep-XXXXXX";
  const int fd = ::mkstemp(script_path);
  if (fd < 0) {
    std::fprintf(stderr, "connpool bench redis --sweep: no plot (cannot create a temp file)\n");
    return;
  }
  ::close(fd);
  {
    std::ofstream script(script_path);
    script << plot_script(o, points, sitting, terminal, file);
  }
  auto run = run_process({"gnuplot", script_path});
  ::unlink(script_path);
  // The data files are written already: a missing gnuplot costs the picture, not the numbers.
  if (!run) {
    std::fprintf(stderr, "connpool bench redis --sweep: no plot: %s\n",
                 run.error().to_string().c_str());
  } else if (run->exit_code != 0) {
    std::fprintf(stderr, "connpool bench redis --sweep: gnuplot failed: %s\n", run->output.c_str());
  } else {
    std::printf("plot: %s\n", file.c_str());
  }
}

void print_point(const SweepOptions& o, const PointResult& p) {
  std::printf("\n%d callers, %s:\n  %-24s %12s %10s %10s %4s\n", p.point.callers,
              value_label(p.point.value_size).c_str(), "client", "ops/s", "p99 us", "cpu us/op",
              "ok");
  for (const auto& client : o.clients) {
    const Series* s = p.find(client);
    if (s == nullptr) continue;
    const Medians m = medians(*s);
    std::printf("  %-24s %12.0f %10.0f %10.2f %2d/%zu\n", client.c_str(), m.ops_per_sec, m.p99_us,
                m.cpu_us_per_op, m.ok_runs, s->runs.size());
    for (const auto& r : s->runs) {
      if (!r.error.empty()) std::printf("    error: %s\n", r.error.c_str());
    }
  }
  std::printf("  ratios (median of per-round ratios):");
  for (const auto& pair : kPairs) {
    if (const auto r = ratio(p, pair)) {
      std::printf(" %s=%.2f", std::string(pair.label).c_str(), *r);
    }
  }
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int run_sweep(const SweepOptions& o, const SweepRun& run) {
  Sitting sitting;
  sitting.load_start = load_average_1m();
  std::printf(
      "sweep: %zu callers x %zu value sizes x %zu clients x %d rounds of %.1f s "
      "(load %.2f)\n",
      o.callers.size(), o.values.size(), o.clients.size(), o.rounds, o.duration_s,
      sitting.load_start);
  std::vector<PointResult> points;
  int rc = 0;
  for (const int callers : o.callers) {
    for (const std::size_t value : o.values) {
      PointResult& p = points.emplace_back();
      p.point = {callers, value};
      for (const auto& client : o.clients) p.series.push_back({client, {}});
      for (int r = 0; r < o.rounds; ++r) {
        // Rotated so that no client always runs first or right after the heaviest one.
        for (std::size_t i = 0; i < o.clients.size(); ++i) {
          Series& s = p.series[(i + static_cast<std::size_t>(r)) % o.clients.size()];
          s.runs.push_back(run(s.client, p.point));
          if (!usable(s.runs.back())) rc = 1;
        }
      }
      print_point(o, p);
      // Rewritten after every point: an interrupted sweep keeps what it measured.
      sitting.load_end = load_average_1m();
      if (!write_files(o, points, sitting)) return 2;
    }
  }
  std::printf("\nwrote %s/%s.csv, %s-runs.csv, %s.json (load %.2f -> %.2f)\n", o.out_dir.c_str(),
              o.name.c_str(), o.name.c_str(), o.name.c_str(), sitting.load_start, sitting.load_end);
  if (o.plot) {
    write_plot(o, points, sitting, "svg size 1400,640 dynamic font 'sans,11' background '#ffffff'",
               ".svg");
    write_plot(o, points, sitting, "pngcairo size 1400,640 font 'sans,10'", ".png");
  }
  return rc;
}

}  // namespace connpool::cli
