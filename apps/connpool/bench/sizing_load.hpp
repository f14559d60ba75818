// The `connpool bench sizing` workload: request arrival rates over time, in three phases that
// each start from a quiet lead-in (so every sizing mode has shrunk back before the phase's load
// arrives): a ramp, a spike (which nothing can foresee) and a wave (a compressed daily cycle).
// Pure functions of time; the driver (cmd_bench_sizing.cpp) turns them into requests.
#pragma once

#include <array>
#include <cmath>
#include <string_view>

namespace connpool::cli::sizing {

/// Requests per second at the quiet base and at the peak. With the default 25 ms hold, the peak
/// keeps about 20 connections busy, the base about one.
inline constexpr double kBaseRate = 40.0;
inline constexpr double kPeakRate = 800.0;

struct Phase {
  std::string_view name;
  double seconds;                           // before --scale
  double (*rate)(double t, double length);  // t and length in seconds, after --scale
};

// Ramp: 20 % quiet lead-in, then linear from base to peak.
inline double ramp_rate(double t, double length) {
  const double lead = 0.2 * length;
  if (t < lead) return kBaseRate;
  return kBaseRate + (kPeakRate - kBaseRate) * (t - lead) / (length - lead);
}

// Spike: base, then the peak for 15 % of the phase starting at 60 %, then base again.
inline double spike_rate(double t, double length) {
  return (t >= 0.6 * length && t < 0.75 * length) ? kPeakRate : kBaseRate;
}

// Wave: two periods of a cosine from base up to peak and back.
inline double wave_rate(double t, double length) {
  const double mid = (kBaseRate + kPeakRate) / 2.0;
  const double amp = (kPeakRate - kBaseRate) / 2.0;
  return mid - amp * std::cos(2.0 * M_PI * 2.0 * t / length);
}

inline constexpr std::array<Phase, 3> kPhases = {{
    {"ramp", 15.0, ramp_rate},
    {"spike", 20.0, spike_rate},
    {"wave", 30.0, wave_rate},
}};

}  // namespace connpool::cli::sizing
