#include "ddr.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

#include "dmi_timing.h"
#include "tlm_access.h"

namespace cestvp {

Ddr::Ddr(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name),
      socket("socket"),
      params_(params),
      pages_((params.size + kPageBytes - 1) / kPageBytes),
      channel_free_at_(params.channels, sc_core::SC_ZERO_TIME) {
  assert(params.channels > 0 && params.channel_bandwidth_Bps > 0 && params.interleave_bytes > 0);
  socket.register_b_transport(this, &Ddr::b_transport);
  socket.register_get_direct_mem_ptr(this, &Ddr::get_direct_mem_ptr);
  socket.register_transport_dbg(this, &Ddr::transport_dbg);
}

std::uint8_t* Ddr::page(std::uint64_t offset) {
  auto& p = pages_[offset / kPageBytes];
  if (!p) {
    p.reset(static_cast<std::uint8_t*>(std::aligned_alloc(4096, kPageBytes)));
    if (!p) throw std::bad_alloc();
    std::memset(p.get(), 0, kPageBytes);
    ++pages_allocated_;
  }
  return p.get();
}

const std::uint8_t* Ddr::page_if_present(std::uint64_t offset) const {
  return pages_[offset / kPageBytes].get();
}

void Ddr::copy(std::uint64_t offset, std::uint8_t* data, std::uint64_t len, bool is_write) {
  while (len > 0) {
    const std::uint64_t in_page = offset % kPageBytes;
    const std::uint64_t n = std::min(len, kPageBytes - in_page);
    if (is_write) {
      std::memcpy(page(offset) + in_page, data, n);
    } else if (const std::uint8_t* p = page_if_present(offset)) {
      std::memcpy(data, p + in_page, n);
    } else {
      std::memset(data, 0, n);  // never written: reads as zero without allocating
    }
    offset += n;
    data += n;
    len -= n;
  }
}

void Ddr::write(std::uint64_t offset, const void* src, std::uint64_t bytes) {
  assert(offset + bytes <= params_.size);
  copy(offset, static_cast<std::uint8_t*>(const_cast<void*>(src)), bytes, true);
}

void Ddr::read(std::uint64_t offset, void* dst, std::uint64_t bytes) const {
  assert(offset + bytes <= params_.size);
  const_cast<Ddr*>(this)->copy(offset, static_cast<std::uint8_t*>(dst), bytes, false);
}

sc_core::sc_time Ddr::channel_time(std::uint64_t bytes) {
  if (bytes != channel_time_bytes_) {
    channel_time_bytes_ = bytes;
    channel_time_ = sc_core::sc_time(static_cast<double>(bytes) / params_.channel_bandwidth_Bps, sc_core::SC_SEC);
  }
  return channel_time_;
}

sc_core::sc_time Ddr::occupy_channels(std::uint64_t offset, std::uint64_t len,
                                      const sc_core::sc_time& arrival) {
  sc_core::sc_time last_out = arrival;
  while (len > 0) {
    const std::uint64_t n = std::min(len, params_.interleave_bytes - offset % params_.interleave_bytes);
    sc_core::sc_time& free_at = channel_free_at_[(offset / params_.interleave_bytes) % params_.channels];
    free_at = std::max(free_at, arrival) + channel_time(n);
    last_out = std::max(last_out, free_at);
    offset += n;
    len -= n;
  }
  return last_out + params_.latency;
}

void Ddr::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (!accept_memory_access(gp, params_.size)) return;
  const std::uint64_t offset = gp.get_address();
  const std::uint64_t len = gp.get_data_length();
  if (!gp.is_read() && !gp.is_write()) {
    gp.set_response_status(tlm::TLM_OK_RESPONSE);  // TLM_IGNORE_COMMAND
    return;
  }
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  delay = occupy_channels(offset, len, now + delay) - now;
  if (!gp.get_extension<TimingOnly>()) copy(offset, gp.get_data_ptr(), len, gp.is_write());
  (gp.is_write() ? bytes_written_ : bytes_read_) += len;
  gp.set_dmi_allowed(true);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool Ddr::get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
  const std::uint64_t offset = gp.get_address();
  if (offset >= params_.size) return false;
  const std::uint64_t first = offset - offset % kPageBytes;
  dmi.set_dmi_ptr(page(offset));
  dmi.set_start_address(first);
  dmi.set_end_address(std::min(first + kPageBytes, params_.size) - 1);
  dmi.allow_read_write();
  const sc_core::sc_time per_line =
      sc_core::sc_time(static_cast<double>(kDmiLineBytes) / params_.channel_bandwidth_Bps, sc_core::SC_SEC);
  dmi.set_read_latency(per_line);
  dmi.set_write_latency(per_line);
  return true;
}

unsigned Ddr::transport_dbg(tlm::tlm_generic_payload& gp) {
  const std::uint64_t offset = gp.get_address();
  if (offset >= params_.size || !(gp.is_read() || gp.is_write())) return 0;
  const std::uint64_t len = std::min<std::uint64_t>(gp.get_data_length(), params_.size - offset);
  copy(offset, gp.get_data_ptr(), len, gp.is_write());
  return static_cast<unsigned>(len);
}

}  // namespace cestvp
