// Simulated membership benchmark: failure detection and dissemination time
// in protocol periods at a given group size, false declarations under loss,
// and idle traffic, from the deterministic SWIM simulation.
//
// Usage: membership_sim [--nodes N] [--trials K] [--loss P] [--soak-s S]
//                       [--seed X] [--no-fallback] [--stream-loss P] [--crash-at-once K]
//                       [--secret S]
// Prints name=value lines.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "net/swim/swim_sim.hpp"

using namespace idunno;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::size_t nodes = 100;
  int trials = 20;
  double loss = 0.0;
  int soak_s = 0;
  std::uint64_t seed = 1;
  bool fallback = true;
  double stream_loss = -1.0;  // negative: as if TCP segments met the same loss
  std::size_t at_once = 1;     // nodes crashed together per trial
  std::string secret;          // cluster secret: authenticated packets
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--nodes") o.nodes = std::stoul(next());
    else if (a == "--trials") o.trials = std::stoi(next());
    else if (a == "--loss") o.loss = std::stod(next());
    else if (a == "--soak-s") o.soak_s = std::stoi(next());
    else if (a == "--seed") o.seed = std::stoull(next());
    else if (a == "--no-fallback") o.fallback = false;
    else if (a == "--stream-loss") o.stream_loss = std::stod(next());
    else if (a == "--crash-at-once") o.at_once = std::stoul(next());
    else if (a == "--secret") o.secret = next();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

double secs(core::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  swim::SwimConfig config;
  config.tcp_fallback = o.fallback;
  config.secret = o.secret;
  const double period = secs(config.probe_interval);
  swim::SwimSimulation sim(o.seed, config);
  const auto wall0 = std::chrono::steady_clock::now();
  if (!sim.bootstrap(o.nodes, 3, 120s)) {
    std::printf("error=bootstrap_did_not_converge\n");
    return 1;
  }
  std::printf("nodes=%zu\nbootstrap_s=%.2f\n", o.nodes, secs(sim.now() - core::TimePoint(std::chrono::hours(1))));
  swim::SimFaults faults;
  faults.loss = o.loss;
  faults.stream_loss = o.stream_loss;
  sim.set_faults(faults);
  sim.run_for(10s);

  std::vector<double> first, all, spread;
  int missed = 0;
  std::mt19937_64 pick(o.seed);
  for (int t = 0; t < o.trials; ++t) {
    // Victims among the non-seeds (nodes 0..2 are the seeds).
    std::vector<std::size_t> victims;
    while (victims.size() < o.at_once) {
      const std::size_t v = 3 + pick() % (o.nodes - 3);
      if (std::find(victims.begin(), victims.end(), v) == victims.end()) victims.push_back(v);
    }
    std::vector<swim::MemberId> ids;
    for (auto v : victims) ids.push_back(sim.id_of(v));
    const auto t0 = sim.now();
    for (auto v : victims) sim.crash(v);
    const bool done = sim.run_until(
        [&] {
          for (std::size_t i = 0; i < sim.size(); ++i) {
            if (!sim.running(i)) continue;
            for (auto v : victims) {
              if (sim.view(i, v) != swim::MemberState::dead) return false;
            }
          }
          return true;
        },
        60s);
    if (!done) {
      ++missed;
    } else {
      for (const auto& id : ids) {
        double lo = 1e9, hi = 0;
        for (std::size_t i = 0; i < sim.size(); ++i) {
          if (!sim.running(i)) continue;
          auto at = sim.first_event(i, id, swim::EventKind::dead, t0);
          if (!at) continue;
          lo = std::min(lo, secs(*at - t0));
          hi = std::max(hi, secs(*at - t0));
        }
        first.push_back(lo);
        all.push_back(hi);
        spread.push_back(hi - lo);
      }
    }
    for (auto v : victims) sim.restart(v, {0, 1, 2});
    sim.run_until([&] { return sim.converged(); }, 60s);
    sim.run_for(3s);
  }
  std::printf("trials=%d\nmissed_detections=%d\n", o.trials, missed);
  std::printf("detect_first_median_s=%.3f\ndetect_first_max_s=%.3f\n", pct(first, 0.5), pct(first, 1.0));
  std::printf("detect_all_median_s=%.3f\ndetect_all_p90_s=%.3f\ndetect_all_max_s=%.3f\n", pct(all, 0.5),
              pct(all, 0.9), pct(all, 1.0));
  std::printf("detect_all_median_periods=%.2f\ndetect_all_max_periods=%.2f\n", pct(all, 0.5) / period,
              pct(all, 1.0) / period);
  std::printf("dissemination_median_periods=%.2f\ndissemination_max_periods=%.2f\n", pct(spread, 0.5) / period,
              pct(spread, 1.0) / period);

  if (o.soak_s > 0) {
    // False declarations: no crash, only loss, for soak_s simulated seconds.
    const auto t0 = sim.now();
    const std::size_t before = sim.records().size();
    std::uint64_t bytes0 = 0;
    for (std::size_t i = 0; i < sim.size(); ++i) bytes0 += sim.core(i).metrics().bytes_out;
    sim.run_for(std::chrono::seconds(o.soak_s));
    int false_dead = 0, suspicions = 0;
    for (std::size_t r = before; r < sim.records().size(); ++r) {
      const auto& rec = sim.records()[r];
      if (rec.event.kind == swim::EventKind::dead) ++false_dead;
      if (rec.event.kind == swim::EventKind::suspect) ++suspicions;
    }
    std::uint64_t bytes1 = 0;
    for (std::size_t i = 0; i < sim.size(); ++i) bytes1 += sim.core(i).metrics().bytes_out;
    std::printf("soak_s=%d\nsoak_loss=%.2f\nfalse_dead_declarations=%d\nsuspect_events=%d\n", o.soak_s, o.loss,
                false_dead, suspicions);
    std::printf("udp_bytes_per_node_per_s=%.1f\n",
                static_cast<double>(bytes1 - bytes0) / static_cast<double>(o.nodes) / secs(sim.now() - t0));
  }
  std::printf("sim_events=%llu\nwall_s=%.2f\n", static_cast<unsigned long long>(sim.events_processed()),
              secs(std::chrono::steady_clock::now() - wall0));
  return 0;
}
