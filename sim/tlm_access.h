// Small pieces shared by the models' TLM plumbing.
#pragma once
#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/tlm_quantumkeeper.h>

namespace cestvp {

// Marks a transaction of a timing-only run: a memory target answers it as the read or write it
// names (checks, time, byte counters) but leaves the data array and its own contents alone, so
// a timing run allocates no DDR pages for tensors it never computes.
struct TimingOnly : tlm::tlm_extension<TimingOnly> {
  tlm::tlm_extension_base* clone() const override { return new TimingOnly; }
  void copy_from(const tlm::tlm_extension_base&) override {}
};

// tlm_response_status counts down from OK (1) through INCOMPLETE (0) into the errors (-1..-5);
// traces want small non-negative codes with OK at 0, and people want names.
inline unsigned response_code(tlm::tlm_response_status status) {
  if (status == tlm::TLM_OK_RESPONSE) return 0;
  return static_cast<unsigned>(1 - static_cast<int>(status));
}
inline constexpr const char* kResponseNames[] = {"OK",           "INCOMPLETE",  "GENERIC_ERROR",    "ADDRESS_ERROR",
                                                 "COMMAND_ERROR", "BURST_ERROR", "BYTE_ENABLE_ERROR"};
inline const char* response_name(tlm::tlm_response_status status) { return kResponseNames[response_code(status)]; }

// Target side: whether a memory of `size` bytes can serve this plain access. If not, sets the
// error response (out of range, byte enables, streaming) and returns false.
inline bool accept_memory_access(tlm::tlm_generic_payload& gp, std::uint64_t size) {
  const std::uint64_t offset = gp.get_address();
  const std::uint64_t len = gp.get_data_length();
  if (offset >= size || len > size - offset)
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  else if (gp.get_byte_enable_ptr())
    gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  else if (gp.get_streaming_width() < len)
    gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
  else
    return true;
  return false;
}

// Initiator side: sets the payload up afresh for a plain access of `bytes` at `addr`.
inline void prepare_access(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data,
                           std::uint32_t bytes) {
  gp.set_command(cmd);
  gp.set_address(addr);
  gp.set_data_ptr(data);
  gp.set_data_length(bytes);
  gp.set_streaming_width(bytes);
  gp.set_byte_enable_ptr(nullptr);
  gp.set_dmi_allowed(false);
  gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

// Initiator side: one blocking access of a temporally decoupled initiator. The payload is set
// up afresh (prepare_access), annotated with the keeper's local time, and the keeper
// synchronises once the quantum is used up.
template <typename Socket>
tlm::tlm_response_status decoupled_access(Socket& socket, tlm::tlm_generic_payload& gp,
                                          tlm_utils::tlm_quantumkeeper& qk, tlm::tlm_command cmd,
                                          std::uint64_t addr, std::uint8_t* data, std::uint32_t bytes) {
  prepare_access(gp, cmd, addr, data, bytes);
  sc_core::sc_time delay = qk.get_local_time();
  socket->b_transport(gp, delay);
  qk.set(delay);
  if (qk.need_sync()) qk.sync();
  return gp.get_response_status();
}

}  // namespace cestvp
