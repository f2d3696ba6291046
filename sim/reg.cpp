#include "reg.h"

#include <cassert>
#include <cstring>

namespace cestvp {

const char* to_string(Access access) {
  switch (access) {
    case Access::RW: return "RW";
    case Access::RO: return "RO";
    case Access::WO: return "WO";
    case Access::W1C: return "W1C";
  }
  return "?";
}

RegisterBank::RegisterBank(const BlockSpec& spec) : spec_(spec) {
  regs_.reserve(spec.count);
  std::uint32_t end = 0;
  for (std::size_t i = 0; i < spec.count; ++i) {
    const RegSpec& r = spec.regs[i];
    assert(r.offset % 4 == 0 && "generator guarantees aligned offsets");
    assert((i == 0 || r.offset > spec.regs[i - 1].offset) && "generator guarantees map order");
    regs_.push_back(Register{&r, r.reset, r.reset, nullptr, nullptr});
    end = r.offset + 4;
  }
  index_.assign(end / 4, -1);
  for (std::size_t i = 0; i < regs_.size(); ++i)
    index_[regs_[i].spec->offset / 4] = static_cast<std::int32_t>(i);
}

RegisterBank::Register* RegisterBank::find(std::uint64_t offset) {
  if (offset % 4 != 0 || offset / 4 >= index_.size()) return nullptr;
  std::int32_t i = index_[offset / 4];
  return i < 0 ? nullptr : &regs_[static_cast<std::size_t>(i)];
}

const RegisterBank::Register* RegisterBank::find(std::uint64_t offset) const {
  return const_cast<RegisterBank*>(this)->find(offset);
}

RegisterBank::Register& RegisterBank::at(std::uint32_t offset) {
  Register* r = find(offset);
  assert(r && "model refers to a register that is not in its block spec");
  return *r;
}

const RegisterBank::Register& RegisterBank::at(std::uint32_t offset) const {
  return const_cast<RegisterBank*>(this)->at(offset);
}

void RegisterBank::on_read(std::uint32_t offset, ReadFn fn) { at(offset).read = std::move(fn); }
void RegisterBank::on_write(std::uint32_t offset, WriteFn fn) { at(offset).write = std::move(fn); }
void RegisterBank::sync_on_access(std::uint32_t offset) { at(offset).sync = true; }

std::uint32_t RegisterBank::get(std::uint32_t offset) const { return at(offset).value; }
void RegisterBank::set(std::uint32_t offset, std::uint32_t value) { at(offset).value = value; }

void RegisterBank::preset(std::uint32_t offset, std::uint32_t value) {
  Register& r = at(offset);
  r.value = r.reset_value = value;
}

void RegisterBank::reset() {
  for (Register& r : regs_) r.value = r.reset_value;
}

const char* RegisterBank::name_at(std::uint64_t offset) const {
  const Register* r = find(offset & ~std::uint64_t{3});
  return r ? r->spec->name : nullptr;
}

void RegisterBank::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  Register* r = find(gp.get_address());
  if (!r) {
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (gp.get_byte_enable_ptr()) {
    gp.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  if (gp.get_data_length() != 4 || gp.get_streaming_width() < 4) {
    gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  const bool is_read = gp.is_read();
  if ((is_read && r->spec->access == Access::WO) ||
      (gp.is_write() && r->spec->access == Access::RO) ||
      !(is_read || gp.is_write())) {
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  if (r->sync && delay != sc_core::SC_ZERO_TIME) {
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
  }
  if (is_read) {
    std::uint32_t v = r->read ? r->read() : r->value;
    std::memcpy(gp.get_data_ptr(), &v, 4);
  } else {
    std::uint32_t v;
    std::memcpy(&v, gp.get_data_ptr(), 4);
    if (r->spec->access == Access::W1C)
      r->value &= ~v;
    else if (r->spec->access == Access::RW)
      r->value = v;
    if (r->write) r->write(v);
  }
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned RegisterBank::transport_dbg(tlm::tlm_generic_payload& gp) {
  Register* r = find(gp.get_address());
  if (!r || gp.get_data_length() != 4) return 0;
  if (gp.is_read()) {
    std::uint32_t v = r->read ? r->read() : r->value;
    std::memcpy(gp.get_data_ptr(), &v, 4);
  } else if (gp.is_write()) {
    std::memcpy(&r->value, gp.get_data_ptr(), 4);
  }
  return 4;
}

}  // namespace cestvp
