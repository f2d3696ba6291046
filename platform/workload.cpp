#include "workload.h"

#include <sstream>

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

}  // namespace

Workload load_workload(const std::string& path) {
  YamlMap root = load_yaml(path).map();
  YamlValue name = root.get("name"), program = root.get("program"), bringup = root.get("bringup");
  root.finish();
  Workload w;
  w.source = path;
  w.name = name.string();
  if (w.name.empty() || w.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                            std::string::npos || w.name[0] == '.')
    name.fail("'" + w.name + "' cannot name a run directory", "letters, digits, '_', '-', '.' (not first)");
  w.program = program.string();
  if (w.program != "bringup") program.fail("unknown program '" + w.program + "'", "bringup");
  w.bringup = read_bringup(bringup.map());
  return w;
}

std::string to_yaml(const Workload& w) {
  const fw::BringupParams& p = w.bringup;
  std::ostringstream os;
  os << "# Resolved workload, read from " << w.source << "\n"
     << "name: " << w.name << "\n"
     << "program: " << w.program << "\n"
     << "bringup:\n"
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
