// Interrupt controller: a rising edge on input line i sets PENDING bit i; the CPU's line is
// asserted while (PENDING & ENABLE) != 0; firmware clears PENDING bits by writing 1s to ACK.
#pragma once
#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "reg.h"

namespace cestvp {

class Irqc : public sc_core::sc_module {
 public:
  struct Params {
    unsigned lines = 0;  // at most 32
    sc_core::sc_time register_latency;
  };

  tlm_utils::simple_target_socket<Irqc> socket;
  sc_core::sc_vector<sc_core::sc_in<bool>> lines;
  sc_core::sc_out<bool> cpu_irq;

  Irqc(const sc_core::sc_module_name& name, const Params& params);
  SC_HAS_PROCESS(Irqc);

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);
  void sample_lines();
  void update_cpu_irq();
  void drive_cpu_irq();

  Params params_;
  RegisterBank regs_;
  std::uint32_t raw_ = 0;
  sc_core::sc_event irq_changed_;
};

}  // namespace cestvp
