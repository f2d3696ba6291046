#include <cestvp/sat_probe.h>

#include <cstdio>

#include <cestvp/mmio.h>
#include <cestvp/regs.h>

namespace cestvp::fw {

namespace r = regs::sat;

namespace {

std::string mismatch(const char* what, unsigned long long found, unsigned long long expected) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s is 0x%llx, expected 0x%llx", what, found, expected);
  return buf;
}

SatInfo read_info(Mmio& io) {
  SatInfo s;
  s.id = io.read(r::ID);
  const r::Version version{io.read(r::VERSION)};
  s.version_major = version.major();
  s.version_minor = version.minor();
  const r::Array array{io.read(r::ARRAY)};
  s.array_rows = array.rows();
  s.array_cols = array.cols();
  s.nm_m_mask = io.read(r::NM_SUPPORT);
  s.sram_a_bytes = std::uint64_t{io.read(r::SRAM_A_KIB)} * 1024;
  s.sram_b_bytes = std::uint64_t{io.read(r::SRAM_B_KIB)} * 1024;
  s.sram_c_bytes = std::uint64_t{io.read(r::SRAM_C_KIB)} * 1024;
  s.clock_khz = io.read(r::CLOCK_KHZ);
  return s;
}

std::string check(const SatInfo& s, const BootInfo& boot) {
  constexpr std::uint32_t built_major = r::Version{r::VERSION_RESET}.major();
  constexpr std::uint32_t built_minor = r::Version{r::VERSION_RESET}.minor();
  if (s.id != r::ID_RESET) return mismatch("SAT ID register", s.id, r::ID_RESET) + " (no SAT at this address?)";
  if (s.version_major != built_major || s.version_minor < built_minor) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "SAT register map version %u.%u, this firmware needs %u.%u or a later minor",
                  s.version_major, s.version_minor, built_major, built_minor);
    return buf;
  }
  if (s.array_rows == 0 || s.array_cols == 0) return "SAT reports an empty STCE array";
  if (s.nm_m_mask == 0) return "SAT reports no supported N:M group size";
  if (s.clock_khz == 0) return "SAT reports a clock of 0 kHz";
  if (s.sram_a_bytes != boot.sat_sram_a.size) return mismatch("SRAM A size", s.sram_a_bytes, boot.sat_sram_a.size);
  if (s.sram_b_bytes != boot.sat_sram_b.size) return mismatch("SRAM B size", s.sram_b_bytes, boot.sat_sram_b.size);
  if (s.sram_c_bytes != boot.sat_sram_c.size) return mismatch("SRAM C size", s.sram_c_bytes, boot.sat_sram_c.size);
  return {};
}

}  // namespace

SatProbe probe_sat(Hal& hal, const BootInfo& boot) {
  Mmio io(hal, boot.sat_regs.base);
  SatProbe p;
  p.info = read_info(io);
  p.problem = io.faulted() ? "reading the SAT configuration failed: " + io.fault() : check(p.info, boot);
  p.ok = p.problem.empty();
  return p;
}

}  // namespace cestvp::fw
