// DMA engine (riscv-vp's DMA, grown up): registers on a target socket, data moved through its
// own initiator socket in bursts of at most `burst` bytes. Modes: a direct 1-D/2-D copy
// programmed in registers, or a chain of descriptors in memory; START takes the mode, the copy
// and the first descriptor's address from the registers, which the firmware may then program
// for the next transfer while this one runs. Completion and errors set
// IRQ_STATUS bits and drive the interrupt line; a failing bus access stops the transfer and is
// reported with its address in ERROR_ADDR, never dropped.
//
// Timing (docs/platform.md): each burst is a read of n bytes followed by a write of n bytes,
// not overlapped; each descriptor is one 48-byte read. The engine runs temporally decoupled
// and synchronises before it updates its status and interrupt. In a timing-only run the bursts
// carry the TimingOnly extension: the same transactions and times, no bytes moved.
#pragma once
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "fault_log.h"
#include "reg.h"
#include "timeline.h"
#include "tlm_access.h"
#include "tracer.h"

namespace cestvp {

class Dma : public sc_core::sc_module {
 public:
  struct Params {
    std::uint64_t burst_bytes = 0;
    sc_core::sc_time register_latency;  // one cycle of the register interface clock
    bool timing_only = false;           // bursts move no data (descriptors are still read)
  };

  tlm_utils::simple_target_socket<Dma> regs_socket;
  tlm_utils::simple_initiator_socket<Dma> data_socket;
  sc_core::sc_out<bool> irq;

  Dma(const sc_core::sc_module_name& name, const Params& params);
  SC_HAS_PROCESS(Dma);

  void set_tracer(Tracer* tracer);
  // Transfers stopped by an error and STARTs while busy are reported there.
  void set_fault_log(FaultLog* faults) { faults_ = faults; }
  // Each transfer (START to IDLE, a whole chain included) becomes a span on a "DMA" track.
  void set_timeline(Timeline* timeline);
  std::uint64_t bytes_moved() const { return bytes_moved_total_; }
  // Simulated time from each START to the engine's return to IDLE, summed (the report's DMA busy).
  std::uint64_t busy_ps() const { return busy_ps_total_; }
  bool busy() const { return busy_; }

 private:
  struct Copy {
    std::uint64_t src, dst;
    std::uint32_t length, rows, src_stride, dst_stride;
  };
  struct Fault {
    std::uint32_t cause;  // regs::dma::ErrorCodeCause
    std::uint64_t addr;
  };

  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  void write_start(std::uint32_t value);
  void update_irq();
  void drive_irq();
  std::uint32_t read_status() const;

  void run();
  bool run_chain(Fault& fault);
  bool fetch_descriptor(std::uint64_t addr, Copy& copy, std::uint64_t& next, Fault& fault);
  bool copy_rows(const Copy& copy, Fault& fault);
  bool access(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data,
              std::uint32_t bytes);
  void finish(bool ok, const Fault& fault);
  void report_fault(const Fault& fault);
  void set_state(std::uint32_t state);

  Params params_;
  RegisterBank regs_;
  tlm_utils::tlm_quantumkeeper qk_;
  sc_core::sc_event start_event_;
  sc_core::sc_event irq_changed_;
  std::vector<std::uint8_t> buffer_;
  tlm::tlm_generic_payload descriptor_gp_;
  tlm::tlm_generic_payload burst_gp_;  // owns its TimingOnly extension in a timing-only run
  bool busy_ = false;
  // The transfer of the last START. Read from the registers in write_start, not when the engine's
  // thread runs: the initiator runs ahead of it (temporal decoupling), and its next register
  // writes would otherwise change a transfer already started.
  bool chain_ = false;
  Copy direct_{};
  std::uint64_t first_descriptor_ = 0;
  std::uint32_t state_ = 0;
  std::uint64_t bytes_done_ = 0;  // BYTES_DONE: by the current or last START
  std::uint32_t desc_done_ = 0;   // DESC_DONE
  std::uint64_t bytes_moved_total_ = 0;
  Tracer* tracer_ = nullptr;
  Tracer::Signal state_signal_;
  Timeline* timeline_ = nullptr;
  Timeline::Track track_ = 0;
  FaultLog* faults_ = nullptr;
  std::uint64_t busy_since_ps_ = 0, busy_ps_total_ = 0;
};

}  // namespace cestvp
