#include "sram.h"

#include <algorithm>
#include <cstring>

#include "dmi_timing.h"
#include "tlm_access.h"

namespace cestvp {

Sram::Sram(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name), socket("socket"), params_(params), data_(params.size) {
  socket.register_b_transport(this, &Sram::b_transport);
  socket.register_get_direct_mem_ptr(this, &Sram::get_direct_mem_ptr);
  socket.register_transport_dbg(this, &Sram::transport_dbg);
}

void Sram::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (!accept_memory_access(gp, data_.size())) return;
  const std::uint64_t offset = gp.get_address();
  const std::uint64_t len = gp.get_data_length();
  const bool move = !gp.get_extension<TimingOnly>();
  if (gp.is_write()) {
    if (move) std::memcpy(&data_[offset], gp.get_data_ptr(), len);
    bytes_written_ += len;
  } else if (gp.is_read()) {
    if (move) std::memcpy(gp.get_data_ptr(), &data_[offset], len);
    bytes_read_ += len;
  }
  // Whole cycles in integers: the value of cycle x double(cycles), without its conversions.
  delay += sc_core::sc_time::from_value(params_.cycle.value() * ((len + params_.port_bytes - 1) / params_.port_bytes));
  gp.set_dmi_allowed(true);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool Sram::get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) {
  dmi.set_dmi_ptr(data_.data());
  dmi.set_start_address(0);
  dmi.set_end_address(data_.size() - 1);
  dmi.allow_read_write();
  const auto cycles_per_line = static_cast<double>((kDmiLineBytes + params_.port_bytes - 1) / params_.port_bytes);
  dmi.set_read_latency(params_.cycle * cycles_per_line);
  dmi.set_write_latency(params_.cycle * cycles_per_line);
  return true;
}

unsigned Sram::transport_dbg(tlm::tlm_generic_payload& gp) {
  const std::uint64_t offset = gp.get_address();
  if (offset >= data_.size()) return 0;
  const std::uint64_t len = std::min<std::uint64_t>(gp.get_data_length(), data_.size() - offset);
  if (gp.is_write())
    std::memcpy(&data_[offset], gp.get_data_ptr(), len);
  else if (gp.is_read())
    std::memcpy(gp.get_data_ptr(), &data_[offset], len);
  else
    return 0;
  return static_cast<unsigned>(len);
}

}  // namespace cestvp
