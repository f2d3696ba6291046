// SAT accelerator shell: its register block (identification and the hardware configuration
// firmware checks at start) and its on-chip SRAM buffers A, B and C. The engines (STCE, OSRE,
// WUVE) attach to this module.
#pragma once
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "reg.h"
#include "sat/jobs.h"
#include "sram.h"

namespace cestvp {

class Sat : public sc_core::sc_module {
 public:
  struct Params {
    sat::TimingParams timing;    // array size, SRAM ports, OSRE/WUVE lanes and pipelines
    std::vector<unsigned> nm_m;  // supported group sizes M, powers of two
    std::uint64_t sram_bytes[3] = {};  // buffers A, B, C
    double clock_hz = 0;
    sat::Mode mode = sat::Mode::functional;
  };

  tlm_utils::simple_target_socket<Sat> regs_socket;
  Sram sram_a;
  Sram sram_b;
  Sram sram_c;
  sc_core::sc_out<bool> irq;

  Sat(const sc_core::sc_module_name& name, const Params& params);

  sc_core::sc_time cycle() const { return cycle_; }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  sc_core::sc_time cycle_;
  RegisterBank regs_;
};

}  // namespace cestvp
