#include "report/report.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <sstream>

#include "report/run_output.h"

namespace cestvp {

namespace model = fw::model;

namespace {

constexpr const char* kEngineNames[3] = {"STCE", "OSRE", "WUVE"};

void add(model::EngineCounters& a, const model::EngineCounters& b) {
  a.jobs += b.jobs, a.busy_cycles += b.busy_cycles, a.stall_cycles += b.stall_cycles, a.ops += b.ops;
  a.ops_skipped += b.ops_skipped, a.sram_read += b.sram_read, a.sram_write += b.sram_write;
}

bool same(const model::EngineCounters& a, const model::EngineCounters& b) {
  return a.jobs == b.jobs && a.busy_cycles == b.busy_cycles && a.stall_cycles == b.stall_cycles && a.ops == b.ops &&
         a.ops_skipped == b.ops_skipped && a.sram_read == b.sram_read && a.sram_write == b.sram_write;
}

PhaseFigures figures(const model::ProfileRecord& r, double cycles_per_ps) {
  PhaseFigures f;
  f.entries = r.entries;
  f.cycles = static_cast<double>(r.time_ps) * cycles_per_ps;
  f.host_cycles = static_cast<double>(r.host_ps) * cycles_per_ps;
  f.dma_wait_cycles = static_cast<double>(r.dma_wait_ps) * cycles_per_ps;
  f.dma_bytes = r.dma_bytes;
  f.stce_slots = r.stce_slots;
  std::copy(std::begin(r.engine), std::end(r.engine), std::begin(f.engine));
  return f;
}

double ratio(double part, double whole) { return whole > 0 ? part / whole : 0; }

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// Stall cycles of a phase, SCALE-Sim's sense (the array waits for memory): STCE's SRAM stalls
// and the firmware's waits for DMA transfers that no engine work hid.
double stall_cycles(const PhaseFigures& f) { return static_cast<double>(f.engine[0].stall_cycles) + f.dma_wait_cycles; }

double array_macs_per_cycle(const Report& r) { return static_cast<double>(r.array_rows) * r.array_cols; }

}  // namespace

void PhaseFigures::add(const PhaseFigures& o) {
  entries += o.entries, cycles += o.cycles, host_cycles += o.host_cycles, dma_wait_cycles += o.dma_wait_cycles;
  dma_bytes += o.dma_bytes, stce_slots += o.stce_slots;
  for (unsigned e = 0; e < 3; ++e) cestvp::add(engine[e], o.engine[e]);
}

Report make_report(const ReportInputs& in) {
  const PlatformConfig& config = *in.config;
  const TrainingImage& image = *in.image;
  const TrainingResult& result = *in.result;
  const model::Header& h = image.header;
  Report r;
  r.name = in.name, r.mode = in.mode, r.stopped_by = in.stopped_by, r.output_failures = in.output_failures;
  r.scheme = to_string(static_cast<model::Scheme>(h.scheme));
  r.nm = std::to_string(h.n) + ":" + std::to_string(h.m);
  r.status = result.status();
  r.batch = h.batch, r.iterations = h.iterations;
  r.iterations_done = static_cast<std::uint32_t>(result.iterations.size());
  r.complete = result.header.status == 1 && !result.profile.empty();
  r.clock_hz = config.clocks.sat_hz;
  r.array_rows = config.sat.array_rows, r.array_cols = config.sat.array_cols;
  r.simulated_seconds = in.simulated_seconds;
  r.sat_cycles = in.simulated_seconds * r.clock_hz;
  const auto& its = result.iterations;
  if (its.size() >= 2)
    r.iteration_seconds = static_cast<double>(its.back().end_ps - its.front().end_ps) * 1e-12 / (its.size() - 1);
  else if (its.size() == 1)
    r.iteration_seconds = static_cast<double>(its.front().end_ps) * 1e-12;  // set-up included

  const double cycles_per_ps = r.clock_hz * 1e-12;
  const std::size_t rows = image.layers.size() + 1;
  for (std::size_t row = 0; row < rows; ++row) {
    Report::Layer layer;
    layer.id = static_cast<std::uint32_t>(row);
    if (row < image.layers.size()) {
      const TrainLayer& l = in.workload->layers[row];
      layer.type = l.type;
      layer.name = l.name.empty() ? l.type + std::to_string(row) : l.name;
      layer.sparse = (image.layers[row].flags & model::kLayerSparse) != 0 && h.scheme != 0;
    } else {
      layer.type = layer.name = "runtime";
    }
    for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
      const std::size_t at = row * model::kPassCount + p;
      if (at < result.profile.size()) layer.pass[p] = figures(result.profile[at], cycles_per_ps);
      r.pass_total[p].add(layer.pass[p]);
      r.total.add(layer.pass[p]);
    }
    r.rows.push_back(std::move(layer));
  }

  r.ddr_read = in.platform.ddr_read, r.ddr_written = in.platform.ddr_written;
  r.dma_busy_cycles = static_cast<double>(in.platform.dma_busy_ps) * cycles_per_ps;
  r.ddr_peak_Bps = config.ddr.channels * config.ddr.channel_bandwidth_Bps;
  r.counters_agree = r.complete;
  for (unsigned e = 0; e < 3; ++e) r.counters_agree = r.counters_agree && same(r.total.engine[e], in.platform.engine[e]);

  const PlatformConfig::Energy& e = config.energy;
  std::uint64_t sram_bytes = r.total.dma_bytes;  // the SRAM side of every DMA byte
  for (const model::EngineCounters& c : r.total.engine) sram_bytes += c.sram_read + c.sram_write;
  r.energy.mac_j = static_cast<double>(r.total.macs()) * e.mac_j;
  r.energy.sram_j = static_cast<double>(sram_bytes) * e.sram_byte_j;
  r.energy.ddr_j = static_cast<double>(r.ddr_read + r.ddr_written) * e.ddr_byte_j;
  r.energy.static_j = r.simulated_seconds * e.static_w;

  r.host_cpu = {config.host.cpu == PlatformConfig::Host::Cpu::rv64, config.host.cpi, config.clocks.host_hz,
                in.guest_instructions};
  r.wall_seconds = in.wall_seconds, r.load_seconds = in.load_seconds, r.peak_rss_mib = in.peak_rss_mib;
  r.guest_seconds = in.guest_seconds;
  return r;
}

// ---- console ---------------------------------------------------------------------------------

std::string report_table(const Report& r) {
  std::ostringstream s;
  const double total = r.sat_cycles;
  s << "\nreport"
    << (r.complete              ? ""
        : r.stopped_by.empty() ? " (partial: the firmware did not finish, the per-layer profile may be missing)"
                               : " (partial: stopped by " + r.stopped_by + "; the per-layer profile is missing)")
    << "\n  simulated           " << duration(r.simulated_seconds) << " = " << fixed(total, 0) << " SAT cycles at "
    << fixed(r.clock_hz / 1e6, 0) << " MHz";
  if (r.iteration_seconds > 0) s << "; " << duration(r.iteration_seconds) << " per training iteration";
  s << "\n  engine    busy cycles   stall cycles   idle cycles  util    jobs       MACs executed  dense-equivalent\n";
  char line[200];
  for (unsigned e = 0; e < 3; ++e) {
    const model::EngineCounters& c = r.total.engine[e];
    const double busy = static_cast<double>(c.busy_cycles);
    std::snprintf(line, sizeof line, "  %-7s %13.0f %14llu %13.0f %5.1f%% %7llu %18llu %17llu\n", kEngineNames[e], busy,
                  static_cast<unsigned long long>(c.stall_cycles), std::max(0.0, total - busy), 100 * ratio(busy, total),
                  static_cast<unsigned long long>(c.jobs), static_cast<unsigned long long>(e == 0 ? c.ops : 0),
                  static_cast<unsigned long long>(e == 0 ? c.ops + c.ops_skipped : 0));
    s << line;
  }
  std::snprintf(line, sizeof line, "  %-7s %13.0f %14.0f %13.0f %5.1f%%   (stall: the firmware waiting for it; %.3f GB moved)\n",
                "DMA", r.dma_busy_cycles, r.total.dma_wait_cycles, std::max(0.0, total - r.dma_busy_cycles),
                100 * ratio(r.dma_busy_cycles, total), static_cast<double>(r.total.dma_bytes) / 1e9);
  s << line;
  std::snprintf(line, sizeof line, "  %-7s %13.0f %14s %13.0f %5.1f%%\n", "host", r.total.host_cycles, "",
                std::max(0.0, total - r.total.host_cycles), 100 * ratio(r.total.host_cycles, total));
  s << line;
  const double host = r.total.host_cycles, accelerator = std::max(0.0, r.total.cycles - host);
  s << "  accelerator / host  " << duration(r.seconds(accelerator)) << " / " << duration(r.seconds(host))
    << " (the firmware's time on the SAT and DMA, and on host work)\n";
  if (r.host_cpu.rv64)
    s << "  RV64 core           " << r.host_cpu.instructions << " instructions = " << duration(r.host_cpu.seconds())
      << " at CPI " << r.host_cpu.cpi << " and " << fixed(r.host_cpu.clock_hz / 1e6, 0) << " MHz (host time measured by "
      << "instructions); " << fixed(r.guest_mips(), 1) << " guest MIPS\n";
  s << "  throughput          " << fixed(r.gops(r.total.macs(), total), 2) << " GOPS executed, "
    << fixed(r.gops(r.total.dense_macs(), total), 2) << " GOPS dense-equivalent (1 MAC = 2 operations, over the run)\n";
  const double seconds = r.simulated_seconds;
  s << "  DDR                 " << fixed(static_cast<double>(r.ddr_read) / 1e9, 3) << " GB read, "
    << fixed(static_cast<double>(r.ddr_written) / 1e9, 3) << " GB written, "
    << fixed(ratio(static_cast<double>(r.ddr_read + r.ddr_written), seconds) / 1e9, 2) << " GB/s of "
    << fixed(r.ddr_peak_Bps / 1e9, 1) << " GB/s peak\n";
  const double watts = ratio(r.energy.total_j(), seconds);
  s << "  energy              " << fixed(r.energy.total_j(), 3) << " J (MACs " << fixed(r.energy.mac_j, 3) << ", SRAM "
    << fixed(r.energy.sram_j, 3) << ", DDR " << fixed(r.energy.ddr_j, 3) << ", static " << fixed(r.energy.static_j, 3)
    << "): " << fixed(watts, 2) << " W, " << fixed(ratio(r.gops(r.total.dense_macs(), total), watts), 2)
    << " GOPS/W dense-equivalent\n";
  s << "  per pass           ";
  for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
    const double c = r.pass_total[p].cycles;
    if (c <= 0) continue;
    s << " " << model::pass_name(static_cast<model::Pass>(p)) << " " << duration(r.seconds(c)) << " ("
      << fixed(100 * ratio(c, r.total.cycles), 1) << "%)";
  }
  s << "\n  counters            "
    << (r.counters_agree ? "the firmware's SAT counter reads agree with the SAT's counts"
                         : "the firmware's SAT counter reads do NOT agree with the SAT's counts (or the run did not finish)")
    << "\n";
  return s.str();
}

// ---- files -----------------------------------------------------------------------------------

namespace {

std::string counters_json(const model::EngineCounters& c) {
  std::ostringstream s;
  s << "{\"jobs\": " << c.jobs << ", \"busy_cycles\": " << c.busy_cycles << ", \"stall_cycles\": " << c.stall_cycles
    << ", \"ops\": " << c.ops << ", \"ops_skipped\": " << c.ops_skipped << ", \"sram_read\": " << c.sram_read
    << ", \"sram_write\": " << c.sram_write << "}";
  return s.str();
}

std::string phase_json(const Report& r, const PhaseFigures& f) {
  std::ostringstream s;
  s << "{\"entries\": " << f.entries << ", \"cycles\": " << json_number(f.cycles)
    << ", \"stall_cycles\": " << json_number(stall_cycles(f)) << ", \"host_cycles\": " << json_number(f.host_cycles)
    << ", \"dma_wait_cycles\": " << json_number(f.dma_wait_cycles) << ", \"dma_bytes\": " << f.dma_bytes
    << ", \"macs\": " << f.macs() << ", \"dense_macs\": " << f.dense_macs() << ", \"stce_slots\": " << f.stce_slots
    << ", \"overall_util\": " << json_number(ratio(static_cast<double>(f.macs()), f.cycles * array_macs_per_cycle(r)))
    << ", \"mapping_efficiency\": " << json_number(ratio(static_cast<double>(f.macs()), static_cast<double>(f.stce_slots)))
    << ", \"engines\": {";
  for (unsigned e = 0; e < 3; ++e) s << (e ? ", " : "") << json_string(kEngineNames[e]) << ": " << counters_json(f.engine[e]);
  s << "}}";
  return s.str();
}

}  // namespace

std::string report_json(const Report& r) {
  std::ostringstream s;
  const double total = r.sat_cycles, seconds = r.simulated_seconds;
  s << "{\n"
    << "  \"report_version\": 1,\n"
    << "  \"workload\": " << json_string(r.name) << ",\n"
    << "  \"mode\": " << json_string(r.mode) << ",\n"
    << "  \"scheme\": " << json_string(r.scheme) << ",\n"
    << "  \"nm\": " << json_string(r.nm) << ",\n"
    << "  \"status\": " << json_string(r.status) << ",\n"
    << "  \"partial\": " << (r.complete ? "false" : "true") << ",\n"
    << "  \"stopped_by\": " << (r.stopped_by.empty() ? "null" : json_string(r.stopped_by)) << ",\n"
    << "  \"output_errors\": [";
  for (std::size_t i = 0; i < r.output_failures.size(); ++i)
    s << (i ? ", " : "") << "{\"file\": " << json_string(r.output_failures[i].path)
      << ", \"error\": " << json_string(r.output_failures[i].error) << "}";
  s << "],\n"
    << "  \"batch\": " << r.batch << ",\n"
    << "  \"iterations\": " << r.iterations << ",\n"
    << "  \"iterations_done\": " << r.iterations_done << ",\n"
    << "  \"sat_clock_hz\": " << json_number(r.clock_hz) << ",\n"
    << "  \"array\": [" << r.array_rows << ", " << r.array_cols << "],\n"
    << "  \"simulated_seconds\": " << json_number(seconds) << ",\n"
    << "  \"sat_cycles\": " << json_number(total) << ",\n"
    << "  \"iteration_seconds\": " << json_number(r.iteration_seconds) << ",\n"
    << "  \"engines\": {";
  for (unsigned e = 0; e < 3; ++e) {
    const model::EngineCounters& c = r.total.engine[e];
    const double busy = static_cast<double>(c.busy_cycles);
    s << (e ? ", " : "") << "\n    " << json_string(kEngineNames[e]) << ": {\"counters\": " << counters_json(c)
      << ", \"idle_cycles\": " << json_number(std::max(0.0, total - busy))
      << ", \"utilisation\": " << json_number(ratio(busy, total)) << "}";
  }
  s << ",\n    \"DMA\": {\"bytes\": " << r.total.dma_bytes << ", \"busy_cycles\": " << json_number(r.dma_busy_cycles)
    << ", \"wait_cycles\": " << json_number(r.total.dma_wait_cycles)
    << ", \"idle_cycles\": " << json_number(std::max(0.0, total - r.dma_busy_cycles))
    << ", \"utilisation\": " << json_number(ratio(r.dma_busy_cycles, total)) << "},\n    \"host\": {\"busy_cycles\": " << json_number(r.total.host_cycles)
    << ", \"idle_cycles\": " << json_number(std::max(0.0, total - r.total.host_cycles))
    << ", \"utilisation\": " << json_number(ratio(r.total.host_cycles, total)) << "}\n  },\n"
    << "  \"accelerator_seconds\": " << json_number(r.seconds(std::max(0.0, r.total.cycles - r.total.host_cycles))) << ",\n"
    << "  \"host_seconds\": " << json_number(r.seconds(r.total.host_cycles)) << ",\n"
    << "  \"host_cpu\": {\"cpu\": " << json_string(r.host_cpu.rv64 ? "rv64" : "native")
    << ", \"host_time\": " << json_string(r.host_cpu.rv64 ? "instructions" : "cost table");
  if (r.host_cpu.rv64)
    s << ", \"cpi\": " << json_number(r.host_cpu.cpi) << ", \"clock_hz\": " << json_number(r.host_cpu.clock_hz)
      << ", \"guest_instructions\": " << r.host_cpu.instructions
      << ", \"instruction_seconds\": " << json_number(r.host_cpu.seconds());
  s << "},\n"
    << "  \"operations\": {\"definition\": \"1 MAC = 2 operations; executed: MACs STCE ran (pad entries of "
       "compressed groups included); dense_equivalent: the same layer passes dense\", \"macs_executed\": "
    << r.total.macs() << ", \"macs_dense_equivalent\": " << r.total.dense_macs()
    << ", \"gops_executed\": " << json_number(r.gops(r.total.macs(), total))
    << ", \"gops_dense_equivalent\": " << json_number(r.gops(r.total.dense_macs(), total)) << "},\n"
    << "  \"ddr\": {\"bytes_read\": " << r.ddr_read << ", \"bytes_written\": " << r.ddr_written
    << ", \"bandwidth_Bps\": " << json_number(ratio(static_cast<double>(r.ddr_read + r.ddr_written), seconds))
    << ", \"peak_Bps\": " << json_number(r.ddr_peak_Bps) << "},\n"
    << "  \"energy\": {\"mac_j\": " << json_number(r.energy.mac_j) << ", \"sram_j\": " << json_number(r.energy.sram_j)
    << ", \"ddr_j\": " << json_number(r.energy.ddr_j) << ", \"static_j\": " << json_number(r.energy.static_j)
    << ", \"total_j\": " << json_number(r.energy.total_j())
    << ", \"watts\": " << json_number(ratio(r.energy.total_j(), seconds)) << ", \"gops_per_watt_dense_equivalent\": "
    << json_number(ratio(r.gops(r.total.dense_macs(), total), ratio(r.energy.total_j(), seconds))) << "},\n"
    << "  \"counters_agree\": " << (r.counters_agree ? "true" : "false") << ",\n"
    << "  \"passes\": {";
  for (std::uint32_t p = 0; p < model::kPassCount; ++p)
    s << (p ? "," : "") << "\n    " << json_string(model::pass_name(static_cast<model::Pass>(p))) << ": "
      << phase_json(r, r.pass_total[p]);
  s << "\n  },\n  \"total\": " << phase_json(r, r.total) << ",\n  \"layers\": [";
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const Report::Layer& l = r.rows[i];
    s << (i ? "," : "") << "\n    {\"id\": " << l.id << ", \"name\": " << json_string(l.name)
      << ", \"type\": " << json_string(l.type) << ", \"sparse\": " << (l.sparse ? "true" : "false") << ", \"passes\": {";
    bool first = true;
    for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
      if (l.pass[p].entries == 0) continue;
      s << (first ? "" : ", ") << json_string(model::pass_name(static_cast<model::Pass>(p))) << ": " << phase_json(r, l.pass[p]);
      first = false;
    }
    s << "}}";
  }
  s << "\n  ],\n"
    << "  \"wall\": {\"seconds\": " << json_number(r.wall_seconds) << ", \"load_seconds\": " << json_number(r.load_seconds)
    << ", \"peak_rss_mib\": " << json_number(r.peak_rss_mib)
    << ", \"sat_cycles_per_second\": " << json_number(ratio(total, r.wall_seconds))
    << ", \"guest_mips\": " << (r.host_cpu.rv64 ? json_number(r.guest_mips()) : "null") << "}\n"
    << "}\n";
  return s.str();
}

std::string layers_csv(const Report& r) {
  std::ostringstream s;
  s << "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %, Layer, Type, Pass, "
       "Sparse, Entries, STCE Busy Cycles, MACs, Dense MACs, Host Cycles, DMA Wait Cycles, DMA Bytes\n";
  const double array = array_macs_per_cycle(r);
  for (const Report::Layer& l : r.rows)
    for (std::uint32_t p = 0; p < model::kPassCount; ++p) {
      const PhaseFigures& f = l.pass[p];
      if (f.entries == 0) continue;
      const double macs = static_cast<double>(f.macs()), busy = static_cast<double>(f.engine[0].busy_cycles);
      s << l.id << ", " << fixed(f.cycles, 0) << ", " << fixed(stall_cycles(f), 0) << ", "
        << fixed(100 * ratio(macs, f.cycles * array), 4) << ", "
        << fixed(100 * ratio(macs, static_cast<double>(f.stce_slots)), 4) << ", " << fixed(100 * ratio(macs, busy * array), 4)
        << ", " << l.name << ", " << l.type << ", " << model::pass_name(static_cast<model::Pass>(p)) << ", "
        << (l.sparse ? 1 : 0) << ", " << f.entries << ", " << f.engine[0].busy_cycles << ", " << f.macs() << ", "
        << f.dense_macs() << ", " << fixed(f.host_cycles, 0) << ", " << fixed(f.dma_wait_cycles, 0) << ", "
        << f.dma_bytes << "\n";
    }
  return s.str();
}

std::string engines_csv(const Report& r) {
  std::ostringstream s;
  s << "Engine, Jobs, Busy Cycles, Stall Cycles, Idle Cycles, Utilisation %, Ops, Ops Skipped, SRAM Read Bytes, "
       "SRAM Write Bytes\n";
  for (unsigned e = 0; e < 3; ++e) {
    const model::EngineCounters& c = r.total.engine[e];
    const double busy = static_cast<double>(c.busy_cycles);
    s << kEngineNames[e] << ", " << c.jobs << ", " << c.busy_cycles << ", " << c.stall_cycles << ", "
      << fixed(std::max(0.0, r.sat_cycles - busy), 0) << ", " << fixed(100 * ratio(busy, r.sat_cycles), 4) << ", " << c.ops
      << ", " << c.ops_skipped << ", " << c.sram_read << ", " << c.sram_write << "\n";
  }
  return s.str();
}

void write_report(const Report& r, const std::filesystem::path& dir) {
  write_text_atomically(dir / "report.json", report_json(r));
  write_text_atomically(dir / "layers.csv", layers_csv(r));
  write_text_atomically(dir / "engines.csv", engines_csv(r));
}

}  // namespace cestvp
