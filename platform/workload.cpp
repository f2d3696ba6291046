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
  fw::BringupParams p;
  p.ddr_scratch_offset = m.get("ddr_scratch_offset").size({0, std::uint64_t{1} << 40});
  p.copy_bytes = bytes32(m.get("copy_bytes"));
  p.rows = m.get("rows").integer<std::uint32_t>({1, 1u << 16});
  p.row_bytes = bytes32(m.get("row_bytes"));
  p.src_stride = bytes32(m.get("src_stride"));
  p.dst_stride = bytes32(m.get("dst_stride"));
  p.chain_descriptors = m.get("chain_descriptors").integer<std::uint32_t>({1, 4096});
  p.chain_bytes = bytes32(m.get("chain_bytes"));
  const double timeout_s = m.get("timeout").quantity(Quantity::time, {1e-6, 1e3});
  p.timeout_ns = static_cast<std::uint64_t>(timeout_s * 1e9 + 0.5);
  if (p.src_stride < p.row_bytes) m.get("src_stride").fail("rows would overlap", "src_stride >= row_bytes");
  if (p.dst_stride < p.row_bytes) m.get("dst_stride").fail("rows would overlap", "dst_stride >= row_bytes");
  m.finish();
  return p;
}

}  // namespace

Workload load_workload(const std::string& path) {
  YamlMap root = load_yaml(path).map();
  Workload w;
  w.source = path;
  w.name = root.get("name").string();
  YamlValue program = root.get("program");
  w.program = program.string();
  if (w.program != "bringup") program.fail("unknown program '" + w.program + "'", "bringup");
  w.bringup = read_bringup(root.get("bringup").map());
  root.finish();
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
