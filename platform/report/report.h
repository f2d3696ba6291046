// The report of a training run (docs/performance.md "Reports"): what the firmware measured per
// layer and pass (model::ProfileRecord, from the SAT's counter registers and its own clock),
// the platform's DDR traffic, and the energy model of the platform YAML, as a console table,
// report.json, layers.csv (SCALE-Sim's COMPUTE_REPORT columns first) and engines.csv.
// SystemC-free: the caller hands in what the models counted.
//
//   const Report report = make_report(inputs);
//   std::fputs(report_table(report).c_str(), stdout);
//   write_report(report, dir);  // report.json, layers.csv, engines.csv
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "loader/workload.h"
#include "output_file.h"
#include "report/training_results.h"

namespace cestvp {

// Counted by the platform's models (not visible to the firmware), for the cross-check.
struct PlatformCounts {
  std::uint64_t ddr_read = 0, ddr_written = 0;  // bytes, every initiator
  std::uint64_t dma_busy_ps = 0;                 // the DMA from START to IDLE, summed
  fw::model::EngineCounters engine[3];          // the SAT's counters at the end (STCE, OSRE, WUVE)
};

struct ReportInputs {
  const PlatformConfig* config = nullptr;
  const TrainWorkload* workload = nullptr;
  const TrainingImage* image = nullptr;
  const TrainingResult* result = nullptr;
  PlatformCounts platform;
  std::string name, mode;
  std::string stopped_by;  // why the run ended before the firmware did ("SIGINT", "watchdog: ..."), else ""
  std::vector<OutputFailure> output_failures;  // outputs written before the report that failed
  double simulated_seconds = 0;
  std::uint64_t guest_instructions = 0;  // RV64 core: instructions executed
  // Wall-clock facts, kept apart in report.json: they differ from run to run.
  double wall_seconds = 0, load_seconds = 0, peak_rss_mib = 0;
  double guest_seconds = 0;  // RV64 core: wall time the emulator ran
};

// One (layer, pass) or a sum of them, in SAT cycles unless named otherwise.
struct PhaseFigures {
  std::uint64_t entries = 0;
  double cycles = 0, host_cycles = 0, dma_wait_cycles = 0;
  std::uint64_t dma_bytes = 0, stce_slots = 0;
  fw::model::EngineCounters engine[3];
  std::uint64_t macs() const { return engine[0].ops; }
  std::uint64_t dense_macs() const { return engine[0].ops + engine[0].ops_skipped; }
  void add(const PhaseFigures& other);
};

struct Report {
  std::string name, mode, scheme, nm, status;
  std::uint32_t batch = 0, iterations = 0, iterations_done = 0;
  bool complete = false;  // the firmware finished and wrote its profile
  std::string stopped_by;  // as in ReportInputs
  std::vector<OutputFailure> output_failures;
  double clock_hz = 0;
  std::uint32_t array_rows = 0, array_cols = 0;
  double simulated_seconds = 0, sat_cycles = 0;
  double iteration_seconds = 0;  // steady state: (end of the last - end of the first) / (done - 1)

  struct Layer {
    std::uint32_t id = 0;
    std::string name, type;
    bool sparse = false;
    PhaseFigures pass[fw::model::kPassCount];
  };
  std::vector<Layer> rows;  // the layers, then the runtime row
  PhaseFigures pass_total[fw::model::kPassCount];
  PhaseFigures total;

  std::uint64_t ddr_read = 0, ddr_written = 0;
  double ddr_peak_Bps = 0;
  double dma_busy_cycles = 0;
  struct Energy {
    double mac_j = 0, sram_j = 0, ddr_j = 0, static_j = 0;
    double total_j() const { return mac_j + sram_j + ddr_j + static_j; }
  } energy;
  bool counters_agree = false;  // the firmware's SAT counter reads sum to the SAT's own counts

  // The host CPU: native (host time from the cost table) or rv64 (from instructions executed).
  struct Host {
    bool rv64 = false;
    double cpi = 0, clock_hz = 0;
    std::uint64_t instructions = 0;
    double seconds() const { return clock_hz > 0 ? static_cast<double>(instructions) * cpi / clock_hz : 0; }
  } host_cpu;

  double wall_seconds = 0, load_seconds = 0, peak_rss_mib = 0;
  double guest_seconds = 0;
  double guest_mips() const { return guest_seconds > 0 ? static_cast<double>(host_cpu.instructions) / guest_seconds / 1e6 : 0; }

  double seconds(double cycles) const { return cycles / clock_hz; }
  // Operations are 2 x MACs (a multiply and an add), per simulated second.
  double gops(std::uint64_t macs, double cycles) const { return cycles > 0 ? 2.0 * macs / seconds(cycles) / 1e9 : 0; }
};

Report make_report(const ReportInputs& inputs);
std::string report_table(const Report& report);
std::string report_json(const Report& report);
std::string layers_csv(const Report& report);
std::string engines_csv(const Report& report);
// report.json, layers.csv and engines.csv, each replaced whole.
void write_report(const Report& report, const std::filesystem::path& dir);

}  // namespace cestvp
