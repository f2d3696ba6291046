// satvp host-costs: boots the platform with the host cost probe, reads its result block from
// DDR and turns the two timed runs of each kind into cycles per element.
#include "cli/cmd_host_costs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <cestvp/host_cost_probe.h>
#include <cestvp/program.h>

#include "cli/cli.h"
#include "cli/cmd_run.h"
#include "cli/host_setup.h"
#include "config/config.h"
#include "config/units.h"
#include "config/user_error.h"
#include "output_file.h"
#include "vp.h"

namespace cestvp {

namespace {

// Where the probe works, from the start of DDR: its result block, then its tensors.
constexpr std::uint64_t kResultOffset = 0;
constexpr std::uint64_t kScratchOffset = 1 << 20;
static_assert(sizeof(fw::HostCostResult) <= kScratchOffset, "the result block overlaps the scratch area");

// One kind as measured: host cycles per element charged, and per unit of its HostCosts field.
struct KindFigure {
  fw::HostCostRecord record;
  double cycles = 0;
  double per_field() const { return cycles / record.multiple; }
};

// A HostCosts field as measured: the median, per unit of the field, of the kinds charged at it.
// The kinds of one field differ several-fold on a scalar core (ReLU keeps or zeroes FP16 bits; a
// gradient sum converts three times), and a workload runs only some of them (a CNN no layer
// norm, BDWP no SDGP rescale): the median follows the typical kind, where the largest would
// charge every kind as the rarest, costliest one. The range is shown beside it.
struct FieldFigure {
  fw::HostCostField field;
  std::vector<const KindFigure*> kinds;  // ascending by per_field()
  double measured() const {
    const std::size_t n = kinds.size();
    return n % 2 ? kinds[n / 2]->per_field() : (kinds[n / 2 - 1]->per_field() + kinds[n / 2]->per_field()) / 2;
  }
  const KindFigure& cheapest() const { return *kinds.front(); }
  const KindFigure& costliest() const { return *kinds.back(); }
};

// "12.31", "4", "0.5": two decimals at most, no trailing zeros.
std::string figure(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  std::string s = text;
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string charged_at(const fw::HostCostRecord& r) {
  const std::string field = fw::to_string(r.field);
  return r.multiple == 1 ? field : std::to_string(r.multiple) + " x " + field;
}

// Kinds whose larger run did not take longer cannot give a cost; that is a probe bug.
std::vector<KindFigure> kind_figures(const fw::HostCostResult& result) {
  std::vector<KindFigure> kinds;
  for (std::uint32_t i = 0; i < result.count; ++i) {
    const fw::HostCostRecord& r = result.records[i];
    if (r.large_elements <= r.small_elements || r.large_ps < r.small_ps || result.host_cycle_ps == 0)
      throw std::runtime_error(std::string("host cost probe: kind ") + r.kind + ": runs of " +
                               std::to_string(r.small_elements) + " and " + std::to_string(r.large_elements) +
                               " elements took " + std::to_string(r.small_ps) + " and " +
                               std::to_string(r.large_ps) + " ps: no cost per element follows");
    const double ps =
        static_cast<double>(r.large_ps - r.small_ps) / static_cast<double>(r.large_elements - r.small_elements);
    kinds.push_back({r, ps / static_cast<double>(result.host_cycle_ps)});
  }
  return kinds;
}

std::vector<FieldFigure> field_figures(const std::vector<KindFigure>& kinds) {
  std::vector<FieldFigure> fields;
  for (unsigned f = 0; f < fw::kHostCostFields; ++f) fields.push_back({static_cast<fw::HostCostField>(f), {}});
  for (const KindFigure& k : kinds) fields[static_cast<unsigned>(k.record.field)].kinds.push_back(&k);
  for (FieldFigure& f : fields) {
    if (f.kinds.empty())
      throw std::runtime_error(std::string("host cost probe: no kind is charged at ") + fw::to_string(f.field));
    std::stable_sort(f.kinds.begin(), f.kinds.end(),
                     [](const KindFigure* a, const KindFigure* b) { return a->per_field() < b->per_field(); });
  }
  return fields;
}

// "(median of 12 kinds: relu_forward 11.62 .. grad_accumulate 151.72)", per unit of the field.
std::string field_range(const FieldFigure& f) {
  if (f.kinds.size() == 1) {
    const fw::HostCostRecord& r = f.cheapest().record;
    return std::string("(kind ") + r.kind + (r.multiple == 1 ? "" : ", charged " + charged_at(r)) + ")";
  }
  return "(median of " + std::to_string(f.kinds.size()) + " kinds: " + f.cheapest().record.kind + " " +
         figure(f.cheapest().per_field()) + " .. " + f.costliest().record.kind + " " +
         figure(f.costliest().per_field()) + ")";
}

std::string core_name(const PlatformConfig& config) {
  return config.host.cpu == PlatformConfig::Host::Cpu::rv64 ? "the RV64 core" : "the native core";
}

void print_tables(const std::vector<KindFigure>& kinds, const std::vector<FieldFigure>& fields,
                  const PlatformConfig& config, const fw::HostCosts& assumed) {
  std::printf("\n%-24s %11s  %-16s %11s  %-17s %s\n", "kind", "measured", "charged at", "assumed", "elements",
              "measured on");
  std::printf("%-24s %11s  %-16s %11s  %-17s\n", "", "cycles/elem", "", "cycles/elem", "small -> large");
  for (const KindFigure& k : kinds) {
    const fw::HostCostRecord& r = k.record;
    const std::string elements = std::to_string(r.small_elements) + " -> " + std::to_string(r.large_elements);
    std::printf("%-24s %11s  %-16s %11s  %-17s %s\n", r.kind, figure(k.cycles).c_str(), charged_at(r).c_str(),
                figure(r.multiple * fw::cost_of(assumed, r.field)).c_str(), elements.c_str(), r.detail);
  }
  std::printf("\n%-12s %10s %10s %10s  %s\n", "host_cost", "measured", "assumed", "ratio",
              "per unit of the field: the median of the kinds charged at it, their range");
  for (const FieldFigure& f : fields) {
    const double a = fw::cost_of(assumed, f.field);
    const std::string ratio = a > 0 ? "x" + figure(f.measured() / a) : "-";
    std::printf("%-12s %10s %10s %10s  %s\n", fw::to_string(f.field), figure(f.measured()).c_str(), figure(a).c_str(),
                ratio.c_str(), field_range(f).c_str());
  }
  std::printf("\nA kind charged at k x a field counts its cost per element / k there (batch norm backward is 4 x "
              "reduce). Each field takes the median of its kinds: the kinds of one field differ several-fold on a "
              "scalar core, and a workload runs only some of them. 'assumed' is the table of %s.\n",
              config.source.c_str());
}

// The host_cost: section, each value with where it comes from.
std::string host_cost_yaml(const std::vector<FieldFigure>& fields, const PlatformConfig& config) {
  const bool rv64 = config.host.cpu == PlatformConfig::Host::Cpu::rv64;
  std::ostringstream out;
  out << "# host_cost measured by satvp host-costs on " << core_name(config);
  if (rv64)
    out << " (CPI " << figure(config.host.cpi) << ", host clock "
        << display_quantity(Quantity::frequency, config.clocks.host_hz) << ")";
  out << ", platform " << config.source << ".\n"
      << "# Each field is the median cost per element of the kinds of host work the firmware charges at it.\n"
      << "host_cost:              # host CPU cycles per element of the work the firmware does itself (docs/training.md)\n";
  for (const FieldFigure& f : fields) {
    std::string key = std::string("  ") + fw::to_string(f.field) + ": " + figure(f.measured());
    key.resize(std::max<std::size_t>(key.size() + 1, 24), ' ');
    out << key << "# [measured] satvp host-costs on " << core_name(config);
    if (rv64)
      out << ", CPI " << figure(config.host.cpi) << ": " << figure(f.measured() / config.host.cpi)
          << " instructions per element ";
    else
      out << ": " << figure(f.measured()) << " cycles per element, the cost table of " << config.source << " ";
    out << field_range(f) << "\n";
  }
  return out.str();
}

}  // namespace

int run_host_costs(const HostCostsArgs& args) {
  PlatformConfig config = load_platform_config(args.platform);
  const fw::HostCosts assumed = config.host_cost;
  if (!args.out.empty())
    if (const std::string problem = output_path_problem(args.out); !problem.empty())
      throw UserError("--out " + args.out + ": " + problem +
                      "; expected a regular file or a new file in an existing directory");
  const std::uint64_t ddr = config.region("ddr").size;
  if (ddr < kScratchOffset + fw::kHostCostScratchBytes)
    throw UserError(config.source + ": address_map.ddr.size: " + format_size(ddr) + " is too small for the host cost "
                    "probe; expected at least " + format_size(kScratchOffset + fw::kHostCostScratchBytes));
  const HostSetup host = prepare_host({args.cpu, args.firmware, ""}, config, "functional");

  const fw::BootInfo boot = VirtualPlatform::make_boot_info(config);
  fw::ProgramCall call;
  call.program = fw::Program::host_costs;
  call.host_costs = {boot.ddr.base + kResultOffset, boot.ddr.base + kScratchOffset, fw::kHostCostScratchBytes};
  std::ostringstream log;
  VpOptions options;
  options.log = &log;
  host.apply(options);
  VirtualPlatform vp(config, call, options);
  const RunStats stats = vp.run();
  fw::HostCostResult result;
  vp.ddr.read(kResultOffset, &result, sizeof result);
  if (!stats.firmware_finished) {
    const char* why = stats.watchdog == Watchdog::Verdict::none ? "nothing left to simulate" : to_string(stats.watchdog);
    std::cerr << log.str() << "satvp: the host cost probe never finished (" << why << ")\n" << vp.diagnostics();
    return kExitHung;
  }
  if (stats.firmware_exit_code != 0 || result.magic != fw::HostCostResult::kMagic ||
      result.status != fw::HostCostResult::finished) {
    result.message[sizeof result.message - 1] = '\0';
    std::cerr << log.str() << "satvp: the host cost probe failed (exit " << stats.firmware_exit_code
              << "): " << (result.magic == fw::HostCostResult::kMagic ? result.message : "it wrote no result block")
              << "\n";
    return stats.unexpected_faults ? kExitHardwareFault : kExitFirmwareFailed;
  }

  const std::vector<KindFigure> kinds = kind_figures(result);
  const std::vector<FieldFigure> fields = field_figures(kinds);
  std::printf("satvp host-costs: %s on %s", config.source.c_str(), core_name(config).c_str());
  if (config.host.cpu == PlatformConfig::Host::Cpu::rv64)
    std::printf(" (CPI %s, host clock %s): %.1f M instructions, %.1f guest MIPS", figure(config.host.cpi).c_str(),
                display_quantity(Quantity::frequency, config.clocks.host_hz).c_str(),
                static_cast<double>(stats.guest_instructions) / 1e6, stats.guest_mips());
  std::printf("; %u kinds of host work, each run at two sizes on synthetic data, cost per element (t2 - t1) / "
              "(n2 - n1); wall time %.2f s\n",
              result.count, stats.wall_seconds);
  print_tables(kinds, fields, config, assumed);
  const std::string yaml = host_cost_yaml(fields, config);
  if (args.out.empty()) {
    std::printf("\n%s", yaml.c_str());
  } else {
    write_text_atomically(args.out, yaml);
    std::printf("\nwrote the host_cost: section to %s\n", args.out.c_str());
  }
  return kExitSuccess;
}

void add_host_costs_options(CLI::App& cmd, HostCostsArgs& args) {
  cmd.add_option("--platform", args.platform, "Platform YAML (its host_cost table is shown beside the measurement)")
      ->capture_default_str();
  cmd.add_option("--cpu", args.cpu,
                 "Host CPU that runs the probe: rv64 (the firmware ELF on the emulated RV64GC core: instructions x "
                 "CPI) or native (reproduces the platform's host_cost table: a check of the measurement)")
      ->check(one_of({"native", "rv64"}))
      ->capture_default_str();
  cmd.add_option("--firmware", args.firmware, "RV64 core: the firmware ELF to boot")->capture_default_str();
  cmd.add_option("--out", args.out,
                 "Write the measured host_cost: section (YAML, each value with its source) to this file, to splice "
                 "into a platform YAML; default: print it");
}

}  // namespace cestvp
