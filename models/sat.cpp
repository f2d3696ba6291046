#include "sat.h"

#include <cestvp/regs.h>
#include <regmap_tables.h>

namespace cestvp {

namespace r = regs::sat;

namespace {

Sram::Params sram_params(int buffer, const Sat::Params& p) {
  return {p.sram_bytes[buffer], p.timing.port_bytes[buffer], sc_core::sc_time(1.0 / p.clock_hz, sc_core::SC_SEC)};
}

std::uint32_t m_mask(const std::vector<unsigned>& nm_m) {
  std::uint32_t mask = 0;
  for (unsigned m : nm_m)
    for (unsigned k = 0; k < 32; ++k)
      if ((1u << k) == m) mask |= 1u << k;
  return mask;
}

}  // namespace

Sat::Sat(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name),
      regs_socket("regs_socket"),
      sram_a("sram_a", sram_params(0, params)),
      sram_b("sram_b", sram_params(1, params)),
      sram_c("sram_c", sram_params(2, params)),
      irq("irq"),
      cycle_(1.0 / params.clock_hz, sc_core::SC_SEC),
      regs_(regmap::sat) {
  regs_socket.register_b_transport(this, &Sat::b_transport);
  regs_socket.register_transport_dbg(this, &Sat::transport_dbg);

  regs_.preset(r::ARRAY, (params.timing.array_cols << r::ARRAY_COLS_SHIFT) |
                             (params.timing.array_rows << r::ARRAY_ROWS_SHIFT));
  regs_.preset(r::NM_SUPPORT, m_mask(params.nm_m));
  regs_.preset(r::SRAM_A_KIB, static_cast<std::uint32_t>(params.sram_bytes[0] / 1024));
  regs_.preset(r::SRAM_B_KIB, static_cast<std::uint32_t>(params.sram_bytes[1] / 1024));
  regs_.preset(r::SRAM_C_KIB, static_cast<std::uint32_t>(params.sram_bytes[2] / 1024));
  regs_.preset(r::CLOCK_KHZ, static_cast<std::uint32_t>(params.clock_hz / 1000.0 + 0.5));
}

void Sat::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  regs_.transport(gp, delay);
  delay += cycle_;
}

unsigned Sat::transport_dbg(tlm::tlm_generic_payload& gp) { return regs_.transport_dbg(gp); }

}  // namespace cestvp
