#include "config/config.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <limits>
#include <sstream>

#include <cestvp/sat_abi.h>

#include "config/units.h"
#include "config/yaml_reader.h"

namespace cestvp {
namespace {

constexpr std::uint64_t kMaxAddress = std::numeric_limits<std::uint64_t>::max();

// Bounds wide enough for any plausible platform and narrow enough to catch a wrong unit
// ("180 kHz" for "180 MHz", "80 ms" for "80 ns"). Zero latencies are allowed: ideal parts are
// a legitimate experiment.
constexpr Range<double> kClock{1e3, 10e9};         // 1 kHz .. 10 GHz
constexpr Range<double> kLatency{0, 1e-3};         // 0 .. 1 ms
constexpr Range<double> kBandwidth{1e6, 10e12};    // 1 MB/s .. 10 TB/s
constexpr Range<double> kQuantum{1e-12, 1};        // 1 ps .. 1 s
constexpr Range<unsigned> kChannels{1, 64};
constexpr Range<unsigned> kArraySide{1, 1024};
constexpr Range<unsigned> kGroupSize{2, 32};       // N:M group size M
constexpr Range<unsigned> kInterruptLine{0, 31};   // inputs of the interrupt controller
constexpr Range<std::uint64_t> kInterleave{64, std::uint64_t{1} << 30};  // 64 B .. 1 GiB
constexpr Range<double> kCyclesPerElement{0, 1e6};  // host cost model
constexpr Range<std::uint64_t> kBurst{4, std::uint64_t{1} << 20};        // 4 B .. 1 MiB
constexpr Range<std::uint64_t> kSramPort{1, 4096};                       // 1 B .. 4 KiB
constexpr Range<double> kEventEnergy{0, 1e-6};     // 0 .. 1 uJ per MAC or byte
constexpr Range<double> kStaticPower{0, 10e3};     // 0 .. 10 kW
constexpr Range<unsigned> kLanes{1, 1024};
constexpr Range<unsigned> kPipeline{0, 1000};  // cycles
constexpr Range<double> kCpi{0.1, 100};          // RV64 core: wide issue .. a slow microcoded core
constexpr std::uint64_t kBurstAlign = 4;  // the DMA moves whole 32-bit words

// Every region starts on a 4 KiB page, so that firmware can map it with ordinary pages (and
// DDR addresses the firmware aligns within DDR, such as DMA descriptors, are aligned in fact).
constexpr std::uint64_t kPage = 4096;
// The DDR model keeps a table of its 1 MiB pages, 8 B each: 128 MiB of host memory at 16 TiB.
constexpr std::uint64_t kMaxDdr = std::uint64_t{1} << 44;
// The SAT's job registers address an SRAM buffer with a 28-bit offset (fw::sram_address), and
// report its size in whole KiB (SRAM_A_KIB, ...), which the firmware compares with the boot info.
constexpr std::uint64_t kMaxSram = std::uint64_t{1} << fw::kSramBufferShift;
constexpr std::uint64_t kSramGranule = 1024;

// The regions of PlatformConfig::address_map, in its order. Register blocks are at least a
// 4 KiB page so that firmware can map them with ordinary pages.
struct RegionSpec {
  const char* name;
  std::uint64_t min_size, max_size;
  bool whole_kib;  // an SRAM buffer
};
constexpr RegionSpec kRegions[] = {{"ddr", 1, kMaxDdr, false},
                                   {"sat_regs", kPage, kMaxAddress, false},
                                   {"sat_sram_a", kSramGranule, kMaxSram, true},
                                   {"sat_sram_b", kSramGranule, kMaxSram, true},
                                   {"sat_sram_c", kSramGranule, kMaxSram, true},
                                   {"dma", kPage, kMaxAddress, false},
                                   {"irqc", kPage, kMaxAddress, false},
                                   // The RV64 core's boot block, firmware, heap and 1 MiB stack.
                                   {"host_ram", 4 << 20, std::uint64_t{1} << 36, false},
                                   {"host_local", kPage, kPage, false}};

bool is_power_of_two(std::uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

std::string hex(std::uint64_t value) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, value, 16).ptr;
  return "0x" + std::string(digits, end);
}

void require_power_of_two(const YamlValue& at, std::uint64_t value, const std::string& text) {
  if (!is_power_of_two(value)) at.fail(text + " is not a power of two", "a power of two");
}

// A value together with where it was read, for checks across several values.
template <typename T>
struct Located {
  YamlValue at;
  T value;
};

// Fails at the later (in the file) value of the first pair for which clash() holds; problem()
// says what is wrong with the later value given the earlier one.
template <typename T, typename Clash, typename Problem>
void reject_clashes(std::vector<Located<T>> items, Clash clash, Problem problem,
                    const std::string& expected) {
  std::sort(items.begin(), items.end(), [](const Located<T>& a, const Located<T>& b) {
    return a.at.position() < b.at.position();
  });
  for (std::size_t later = 1; later < items.size(); ++later) {
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      if (clash(items[earlier].value, items[later].value)) {
        items[later].at.fail(problem(items[later].value, items[earlier]), expected);
      }
    }
  }
}

std::string at_line(const YamlValue& value) { return "at line " + std::to_string(value.line()); }

PlatformConfig::Clocks read_clocks(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue sat = map.get("sat");
  const YamlValue peripheral = map.get("peripheral");
  const YamlValue host = map.get("host");
  map.finish();  // before any conversion, so that a misspelt key is not reported as missing
  PlatformConfig::Clocks clocks;
  clocks.sat_hz = sat.quantity(Quantity::frequency, kClock);
  clocks.peripheral_hz = peripheral.quantity(Quantity::frequency, kClock);
  clocks.host_hz = host.quantity(Quantity::frequency, kClock);
  return clocks;
}

PlatformConfig::Bus read_bus(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue hop_latency = map.get("hop_latency");
  map.finish();
  PlatformConfig::Bus bus;
  bus.hop_latency_s = hop_latency.quantity(Quantity::time, kLatency);
  return bus;
}

PlatformConfig::Ddr read_ddr(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue channels = map.get("channels");
  const YamlValue bandwidth = map.get("channel_bandwidth");
  const YamlValue latency = map.get("latency");
  const YamlValue interleave = map.get("interleave");
  map.finish();
  PlatformConfig::Ddr ddr;
  ddr.channels = channels.integer<unsigned>(kChannels);
  ddr.channel_bandwidth_Bps = bandwidth.quantity(Quantity::bandwidth, kBandwidth);
  ddr.latency_s = latency.quantity(Quantity::time, kLatency);
  ddr.interleave_bytes = interleave.size(kInterleave);
  require_power_of_two(interleave, ddr.interleave_bytes, format_size(ddr.interleave_bytes));
  return ddr;
}

PlatformConfig::Dma read_dma(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue burst = map.get("burst");
  map.finish();
  PlatformConfig::Dma dma;
  dma.burst_bytes = burst.size(kBurst);
  if (dma.burst_bytes % kBurstAlign != 0) {
    burst.fail(format_size(dma.burst_bytes) + " is not a multiple of " + format_size(kBurstAlign),
               "a multiple of " + format_size(kBurstAlign));
  }
  return dma;
}

std::vector<unsigned> read_group_sizes(const YamlValue& value) {
  std::vector<Located<unsigned>> located;
  for (const YamlValue& item : value.list()) {
    const unsigned m = item.integer<unsigned>(kGroupSize);
    require_power_of_two(item, m, std::to_string(m));
    located.push_back({item, m});
  }
  if (located.empty()) value.fail("the list is empty", "at least one group size M");
  reject_clashes(
      located, [](unsigned a, unsigned b) { return a == b; },
      [](unsigned m, const Located<unsigned>& other) {
        return std::to_string(m) + " is listed twice (also as " + other.at.path() + " " +
               at_line(other.at) + ")";
      },
      "distinct group sizes");
  std::vector<unsigned> sizes;
  for (const Located<unsigned>& item : located) sizes.push_back(item.value);
  return sizes;
}

// OSRE and WUVE: lanes working in parallel and the pipeline latency of a job, in cycles.
void read_vector_engine(const YamlValue& value, unsigned& lanes, unsigned& pipeline) {
  YamlMap map = value.map();
  const YamlValue lanes_value = map.get("lanes");
  const YamlValue pipeline_value = map.get("pipeline");
  map.finish();
  lanes = lanes_value.integer<unsigned>(kLanes);
  pipeline = pipeline_value.integer<unsigned>(kPipeline);
}

PlatformConfig::Sat read_sat(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue array = map.get("array");
  const YamlValue nm_m = map.get("nm_m");
  const YamlValue sram_port = map.get("sram_port");
  const YamlValue osre = map.get("osre");
  const YamlValue wuve = map.get("wuve");
  map.finish();
  YamlMap array_map = array.map();
  const YamlValue rows = array_map.get("rows");
  const YamlValue cols = array_map.get("cols");
  array_map.finish();
  PlatformConfig::Sat sat;
  sat.array_rows = rows.integer<unsigned>(kArraySide);
  sat.array_cols = cols.integer<unsigned>(kArraySide);
  sat.nm_m = read_group_sizes(nm_m);
  YamlMap ports = sram_port.map();
  const YamlValue port_values[3] = {ports.get("a"), ports.get("b"), ports.get("c")};
  ports.finish();
  for (int i = 0; i < 3; ++i) {
    sat.sram_port_bytes[i] = port_values[i].size(kSramPort);
    require_power_of_two(port_values[i], sat.sram_port_bytes[i], format_size(sat.sram_port_bytes[i]));
  }
  read_vector_engine(osre, sat.osre_lanes, sat.osre_pipeline);
  read_vector_engine(wuve, sat.wuve_lanes, sat.wuve_pipeline);
  return sat;
}

PlatformConfig::Tlm read_tlm(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue quantum = map.get("quantum");
  map.finish();
  PlatformConfig::Tlm tlm;
  tlm.quantum_s = quantum.quantity(Quantity::time, kQuantum);
  return tlm;
}

AddressRange read_region(const RegionSpec& spec, const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue base = map.get("base");
  const YamlValue size = map.get("size");
  map.finish();
  AddressRange region;
  region.name = spec.name;
  region.base = base.integer<std::uint64_t>({0, kMaxAddress});
  if (region.base % kPage != 0)
    base.fail(hex(region.base) + " is not a multiple of 4 KiB (0x1000)", "a base on a 4 KiB page");
  region.size = size.size({spec.min_size, spec.max_size});
  if (spec.whole_kib && region.size % kSramGranule != 0) {
    size.fail(format_size(region.size) + " is not a whole number of KiB (the SAT reports its SRAM sizes in KiB)",
              "a multiple of 1 KiB");
  }
  if (region.size > kMaxAddress - region.base) {
    size.fail("base " + hex(region.base) + " + " + format_size(region.size) +
                  " goes past the 64-bit address space",
              "base + size at most 2^64 - 1");
  }
  return region;
}

std::vector<AddressRange> read_address_map(const YamlValue& value) {
  YamlMap map = value.map();
  std::vector<YamlValue> values;
  for (const RegionSpec& spec : kRegions) values.push_back(map.get(spec.name));
  map.finish();
  std::vector<Located<AddressRange>> located;
  for (std::size_t i = 0; i < values.size(); ++i) {
    located.push_back({values[i], read_region(kRegions[i], values[i])});
  }
  const auto text = [](const AddressRange& r) { return "[" + hex(r.base) + ", " + hex(r.end()) + ")"; };
  reject_clashes(
      located,
      [](const AddressRange& a, const AddressRange& b) { return a.base < b.end() && b.base < a.end(); },
      [&text](const AddressRange& region, const Located<AddressRange>& other) {
        return text(region) + " overlaps " + other.at.path() + " " + text(other.value) + " " +
               at_line(other.at);
      },
      "address ranges that do not overlap");
  std::vector<AddressRange> regions;
  for (const Located<AddressRange>& region : located) regions.push_back(region.value);
  return regions;
}

PlatformConfig::Interrupts read_interrupts(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue dma = map.get("dma");
  const YamlValue sat = map.get("sat");
  map.finish();
  PlatformConfig::Interrupts interrupts;
  interrupts.dma = dma.integer<unsigned>(kInterruptLine);
  interrupts.sat = sat.integer<unsigned>(kInterruptLine);
  reject_clashes(
      std::vector<Located<unsigned>>{{dma, interrupts.dma}, {sat, interrupts.sat}},
      [](unsigned a, unsigned b) { return a == b; },
      [](unsigned line, const Located<unsigned>& other) {
        return "interrupt line " + std::to_string(line) + " is also used by " + other.at.path() +
               " " + at_line(other.at);
      },
      "distinct interrupt lines");
  return interrupts;
}

PlatformConfig::Host read_host(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue cpu = map.get("cpu");
  const YamlValue cpi = map.get("cpi");
  map.finish();
  PlatformConfig::Host host;
  const std::string name = cpu.string();
  const auto parsed = parse_host_cpu(name);
  if (!parsed) cpu.fail("'" + name + "' is not a host CPU", "native or rv64");
  host.cpu = *parsed;
  host.cpi = cpi.number(kCpi);
  return host;
}

fw::HostCosts read_host_cost(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue input = map.get("input"), elementwise = map.get("elementwise"), pool = map.get("pool"),
                  softmax = map.get("softmax"), reduce = map.get("reduce"), nm_decode = map.get("nm_decode");
  map.finish();
  const auto cycles = [](const YamlValue& v) { return v.number(kCyclesPerElement); };
  return {cycles(input), cycles(elementwise), cycles(pool), cycles(softmax), cycles(reduce), cycles(nm_decode)};
}

PlatformConfig::Energy read_energy(const YamlValue& value) {
  YamlMap map = value.map();
  const YamlValue mac = map.get("mac"), sram_byte = map.get("sram_byte"), ddr_byte = map.get("ddr_byte"),
                  static_power = map.get("static");
  map.finish();
  const auto joules = [](const YamlValue& v) { return v.quantity(Quantity::energy, kEventEnergy); };
  return {joules(mac), joules(sram_byte), joules(ddr_byte), static_power.quantity(Quantity::power, kStaticPower)};
}

}  // namespace

const AddressRange& PlatformConfig::region(const std::string& name) const {
  const auto found = std::find_if(address_map.begin(), address_map.end(),
                                  [&name](const AddressRange& r) { return r.name == name; });
  assert(found != address_map.end() && "no such address_map region");
  return *found;
}

PlatformConfig load_platform_config(const std::string& path) {
  YamlMap root = load_yaml(path).map();
  const YamlValue clocks = root.get("clocks");
  const YamlValue bus = root.get("bus");
  const YamlValue ddr = root.get("ddr");
  const YamlValue dma = root.get("dma");
  const YamlValue sat = root.get("sat");
  const YamlValue tlm = root.get("tlm");
  const YamlValue address_map = root.get("address_map");
  const YamlValue interrupts = root.get("interrupts");
  const YamlValue host = root.get("host");
  const YamlValue host_cost = root.get("host_cost");
  const YamlValue energy = root.get("energy");
  root.finish();
  PlatformConfig config;
  config.source = path;
  config.clocks = read_clocks(clocks);
  config.bus = read_bus(bus);
  config.ddr = read_ddr(ddr);
  config.dma = read_dma(dma);
  config.sat = read_sat(sat);
  config.tlm = read_tlm(tlm);
  config.address_map = read_address_map(address_map);
  config.interrupts = read_interrupts(interrupts);
  config.host = read_host(host);
  config.host_cost = read_host_cost(host_cost);
  config.energy = read_energy(energy);
  return config;
}

const char* to_string(PlatformConfig::Host::Cpu cpu) {
  return cpu == PlatformConfig::Host::Cpu::rv64 ? "rv64" : "native";
}

std::optional<PlatformConfig::Host::Cpu> parse_host_cpu(const std::string& text) {
  if (text == "native") return PlatformConfig::Host::Cpu::native;
  if (text == "rv64") return PlatformConfig::Host::Cpu::rv64;
  return std::nullopt;
}

std::string to_yaml(const PlatformConfig& config) {
  const auto frequency = [](double hz) { return format_quantity(Quantity::frequency, hz); };
  const auto time = [](double s) { return format_quantity(Quantity::time, s); };
  std::ostringstream out;
  out << "# Resolved platform configuration, read from " << config.source << "\n"
      << "clocks:\n"
      << "  sat: " << frequency(config.clocks.sat_hz) << "\n"
      << "  peripheral: " << frequency(config.clocks.peripheral_hz) << "\n"
      << "  host: " << frequency(config.clocks.host_hz) << "\n"
      << "bus:\n"
      << "  hop_latency: " << time(config.bus.hop_latency_s) << "\n"
      << "ddr:\n"
      << "  channels: " << config.ddr.channels << "\n"
      << "  channel_bandwidth: "
      << format_quantity(Quantity::bandwidth, config.ddr.channel_bandwidth_Bps) << "\n"
      << "  latency: " << time(config.ddr.latency_s) << "\n"
      << "  interleave: " << format_size(config.ddr.interleave_bytes) << "\n"
      << "dma:\n"
      << "  burst: " << format_size(config.dma.burst_bytes) << "\n"
      << "sat:\n"
      << "  array: {rows: " << config.sat.array_rows << ", cols: " << config.sat.array_cols
      << "}\n"
      << "  nm_m: [";
  for (std::size_t i = 0; i < config.sat.nm_m.size(); ++i) {
    out << (i == 0 ? "" : ", ") << config.sat.nm_m[i];
  }
  out << "]\n"
      << "  sram_port: {a: " << format_size(config.sat.sram_port_bytes[0])
      << ", b: " << format_size(config.sat.sram_port_bytes[1])
      << ", c: " << format_size(config.sat.sram_port_bytes[2]) << "}\n"
      << "  osre: {lanes: " << config.sat.osre_lanes << ", pipeline: " << config.sat.osre_pipeline << "}\n"
      << "  wuve: {lanes: " << config.sat.wuve_lanes << ", pipeline: " << config.sat.wuve_pipeline << "}\n"
      << "tlm:\n"
      << "  quantum: " << time(config.tlm.quantum_s) << "\n"
      << "address_map:\n";
  for (const AddressRange& region : config.address_map) {
    out << "  " << region.name << ": {base: " << hex(region.base)
        << ", size: " << format_size(region.size) << "}\n";
  }
  out << "interrupts:\n"
      << "  dma: " << config.interrupts.dma << "\n"
      << "  sat: " << config.interrupts.sat << "\n";
  out << "host:\n"
      << "  cpu: " << to_string(config.host.cpu) << "\n"
      << "  cpi: " << config.host.cpi << "\n";
  const fw::HostCosts& h = config.host_cost;
  out << "host_cost: {input: " << h.input << ", elementwise: " << h.elementwise << ", pool: " << h.pool
      << ", softmax: " << h.softmax << ", reduce: " << h.reduce << ", nm_decode: " << h.nm_decode << "}\n";
  const auto energy = [](double j) { return format_quantity(Quantity::energy, j); };
  const PlatformConfig::Energy& e = config.energy;
  out << "energy: {mac: " << energy(e.mac_j) << ", sram_byte: " << energy(e.sram_byte_j)
      << ", ddr_byte: " << energy(e.ddr_byte_j) << ", static: " << format_quantity(Quantity::power, e.static_w) << "}\n";
  return out.str();
}

}  // namespace cestvp
