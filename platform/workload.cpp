#include "workload.h"

#include <sstream>

#include "user_error.h"
#include "yaml_reader.h"

namespace cestvp {

namespace {

constexpr Range<std::uint64_t> kBytes{4, 1u << 30};

std::uint32_t bytes32(YamlValue v, Range<std::uint64_t> range = kBytes) {
  const std::uint64_t n = v.size(range);
  if (n % 4 != 0) v.fail("not a multiple of 4 bytes", "a whole number of 32-bit words");
  return static_cast<std::uint32_t>(n);
}

fw::BringupParams read_bringup(YamlMap m) {
  YamlValue scratch = m.get("ddr_scratch_offset"), copy_bytes = m.get("copy_bytes"), rows = m.get("rows"),
            row_bytes = m.get("row_bytes"), src_stride = m.get("src_stride"), dst_stride = m.get("dst_stride"),
            descriptors = m.get("chain_descriptors"), chain_bytes = m.get("chain_bytes"), timeout = m.get("timeout");
  m.finish();  // a misspelt key is reported as unknown, with a suggestion, before anything is missing
  fw::BringupParams p;
  p.ddr_scratch_offset = scratch.size({0, std::uint64_t{1} << 40});
  p.copy_bytes = bytes32(copy_bytes);
  p.rows = rows.integer<std::uint32_t>({1, 1u << 16});
  p.row_bytes = bytes32(row_bytes);
  p.src_stride = bytes32(src_stride);
  p.dst_stride = bytes32(dst_stride);
  p.chain_descriptors = descriptors.integer<std::uint32_t>({1, 4096});
  p.chain_bytes = bytes32(chain_bytes);
  p.timeout_ns = static_cast<std::uint64_t>(timeout.quantity(Quantity::time, {1e-6, 1e3}) * 1e9 + 0.5);
  if (p.src_stride < p.row_bytes) src_stride.fail("rows would overlap", "src_stride >= row_bytes");
  if (p.dst_stride < p.row_bytes) dst_stride.fail("rows would overlap", "dst_stride >= row_bytes");
  return p;
}

// "N:M", 1 <= N <= M <= 255.
void read_nm(YamlValue v, std::uint32_t& n, std::uint32_t& m) {
  const std::string text = v.string();
  const std::size_t colon = text.find(':');
  const auto number = [](const std::string& t) -> std::uint32_t {
    if (t.empty() || t.size() > 3 || t.find_first_not_of("0123456789") != std::string::npos) return 0;
    return static_cast<std::uint32_t>(std::stoul(t));
  };
  if (colon != std::string::npos) n = number(text.substr(0, colon)), m = number(text.substr(colon + 1));
  if (colon == std::string::npos || n == 0 || m == 0 || n > m || m > 255)
    v.fail("'" + text + "' is not an N:M sparsity", "N:M with 1 <= N <= M <= 255, e.g. 2:8");
}

fw::EngineSelftestParams read_engines(YamlMap m) {
  YamlValue scratch = m.get("ddr_scratch_offset"), seed = m.get("seed"), nm = m.get("nm"), timeout = m.get("timeout");
  m.finish();
  fw::EngineSelftestParams p;
  p.ddr_scratch_offset = scratch.size({0, std::uint64_t{1} << 40});
  p.seed = seed.integer<std::uint32_t>({0, 0xFFFFFFFFu});
  read_nm(nm, p.n, p.m);
  p.timeout_ns = static_cast<std::uint64_t>(timeout.quantity(Quantity::time, {1e-6, 1e3}) * 1e9 + 0.5);
  return p;
}

// A section the program does not use must not be there (it would be silently ignored).
bool present(const YamlValue& v) {
  try {
    v.map();
    return true;
  } catch (const UserError&) {
    return false;  // missing (or not even a mapping: not a section either way)
  }
}

}  // namespace

Workload load_workload(const std::string& path, const std::vector<Override>& overrides) {
  YamlMap root = load_yaml(path, overrides).map();
  YamlValue name = root.get("name"), program = root.get("program"), bringup = root.get("bringup"),
            engines = root.get("engines");
  root.finish();
  Workload w;
  w.source = path;
  w.name = name.string();
  if (w.name.empty() || w.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                            std::string::npos || w.name[0] == '.')
    name.fail("'" + w.name + "' cannot name a run directory", "letters, digits, '_', '-', '.' (not first)");
  w.program = program.string();
  if (w.program != "bringup" && w.program != "engines")
    program.fail("unknown program '" + w.program + "'", "bringup or engines");
  YamlValue& used = w.program == "bringup" ? bringup : engines;
  const YamlValue& unused = w.program == "bringup" ? engines : bringup;
  if (present(unused))
    unused.fail("section '" + unused.path() + "' is not used by program '" + w.program + "'",
                "only the '" + w.program + "' section");
  if (w.program == "bringup") w.bringup = read_bringup(used.map());
  else w.engines = read_engines(used.map());
  return w;
}

std::string to_yaml(const Workload& w) {
  std::ostringstream os;
  os << "# Resolved workload, read from " << w.source << "\n"
     << "name: " << w.name << "\n"
     << "program: " << w.program << "\n";
  if (w.program == "engines") {
    const fw::EngineSelftestParams& e = w.engines;
    os << "engines:\n"
       << "  ddr_scratch_offset: " << format_size(e.ddr_scratch_offset) << "\n"
       << "  seed: " << e.seed << "\n"
       << "  nm: \"" << e.n << ':' << e.m << "\"\n"
       << "  timeout: " << format_quantity(Quantity::time, static_cast<double>(e.timeout_ns) * 1e-9) << "\n";
    return os.str();
  }
  const fw::BringupParams& p = w.bringup;
  os << "bringup:\n"
     << "  ddr_scratch_offset: " << format_size(p.ddr_scratch_offset) << "\n"
     << "  copy_bytes: " << format_size(p.copy_bytes) << "\n"
     << "  rows: " << p.rows << "\n"
     << "  row_bytes: " << format_size(p.row_bytes) << "\n"
     << "  src_stride: " << format_size(p.src_stride) << "\n"
     << "  dst_stride: " << format_size(p.dst_stride) << "\n"
     << "  chain_descriptors: " << p.chain_descriptors << "\n"
     << "  chain_bytes: " << format_size(p.chain_bytes) << "\n"
     << "  timeout: " << format_quantity(Quantity::time, static_cast<double>(p.timeout_ns) * 1e-9) << "\n";
  return os.str();
}

}  // namespace cestvp
