// On-chip SRAM buffer of the SAT, visible on the bus so the DMA can fill and drain it and a
// debugger can inspect it. An access of len bytes takes ceil(len / port_bytes) SAT cycles; a
// TimingOnly access (tlm_access.h) takes as long and counts its bytes but moves none.
#pragma once
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace cestvp {

class Sram : public sc_core::sc_module {
 public:
  struct Params {
    std::uint64_t size = 0;
    std::uint64_t port_bytes = 0;  // bytes per cycle
    sc_core::sc_time cycle;
  };

  tlm_utils::simple_target_socket<Sram> socket;

  Sram(const sc_core::sc_module_name& name, const Params& params);

  std::uint8_t* data() { return data_.data(); }
  std::uint64_t size() const { return data_.size(); }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  Params params_;
  std::vector<std::uint8_t> data_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
};

}  // namespace cestvp
