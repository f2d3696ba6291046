// Stimulus module shared by the model tests: a TLM initiator whose SC_THREAD runs a test body.
// The body issues blocking accesses through read()/write(); each helper returns the response
// status and the delay the target annotated, and by default then waits that delay, so that
// sc_time_stamp() after the call is the time the access completed. Results are recorded in
// plain variables by the body and checked after sc_start() returns (or with EXPECT_* inside).
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

namespace cestvp::test {

// Outcome of one blocking access.
struct Result {
  tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
  sc_core::sc_time delay;  // the annotated delay when b_transport returned
  sc_core::sc_time done;   // sc_time_stamp() when the helper returned (after waiting, if it did)
  bool dmi_allowed = false;

  bool ok() const { return status == tlm::TLM_OK_RESPONSE; }
};

// Whether a helper consumes the returned delay with wait(delay) before returning.
enum class Wait : bool { no = false, yes = true };

class TlmInitiator : public sc_core::sc_module {
 public:
  using Body = std::function<void(TlmInitiator&)>;

  tlm_utils::simple_initiator_socket<TlmInitiator> socket;

  TlmInitiator(const sc_core::sc_module_name& name, Body body)
      : sc_module(name), socket("socket"), body_(std::move(body)) {
    socket.register_invalidate_direct_mem_ptr(this, &TlmInitiator::invalidate_direct_mem_ptr);
    SC_THREAD(run);
  }
  SC_HAS_PROCESS(TlmInitiator);

  // One blocking access of len bytes at addr, starting with the annotated delay `delay`.
  // byte_enable (optional) is passed as is, with byte_enable_len bytes.
  Result transport(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len,
                   sc_core::sc_time delay = sc_core::SC_ZERO_TIME, Wait consume = Wait::yes,
                   unsigned char* byte_enable = nullptr, unsigned byte_enable_len = 0) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(byte_enable);
    gp.set_byte_enable_length(byte_enable_len);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(gp, delay);
    Result r;
    r.status = gp.get_response_status();
    r.delay = delay;
    r.dmi_allowed = gp.is_dmi_allowed();
    if (consume == Wait::yes) sc_core::wait(delay);
    r.done = sc_core::sc_time_stamp();
    return r;
  }

  Result read(std::uint64_t addr, void* data, unsigned len,
              sc_core::sc_time delay = sc_core::SC_ZERO_TIME, Wait consume = Wait::yes) {
    return transport(tlm::TLM_READ_COMMAND, addr, data, len, delay, consume);
  }
  Result write(std::uint64_t addr, const void* data, unsigned len,
               sc_core::sc_time delay = sc_core::SC_ZERO_TIME, Wait consume = Wait::yes) {
    // TLM takes a non-const pointer; targets do not modify the data of a write.
    return transport(tlm::TLM_WRITE_COMMAND, addr, const_cast<void*>(data), len, delay, consume);
  }
  Result read32(std::uint64_t addr, std::uint32_t& value,
                sc_core::sc_time delay = sc_core::SC_ZERO_TIME, Wait consume = Wait::yes) {
    return read(addr, &value, 4, delay, consume);
  }
  Result write32(std::uint64_t addr, std::uint32_t value,
                 sc_core::sc_time delay = sc_core::SC_ZERO_TIME, Wait consume = Wait::yes) {
    return write(addr, &value, 4, delay, consume);
  }

  // Debug transport; returns the number of bytes the target transferred.
  unsigned debug(tlm::tlm_command cmd, std::uint64_t addr, void* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    return socket->transport_dbg(gp);
  }
  unsigned debug_read(std::uint64_t addr, void* data, unsigned len) {
    return debug(tlm::TLM_READ_COMMAND, addr, data, len);
  }
  unsigned debug_write(std::uint64_t addr, const void* data, unsigned len) {
    return debug(tlm::TLM_WRITE_COMMAND, addr, const_cast<void*>(data), len);
  }

  // Requests a DMI region for addr; returns the target's answer, dmi as it was filled in.
  bool get_dmi(std::uint64_t addr, tlm::tlm_dmi& dmi,
               tlm::tlm_command cmd = tlm::TLM_READ_COMMAND) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(addr);
    dmi.init();
    return socket->get_direct_mem_ptr(gp, dmi);
  }

  // Every invalidate_direct_mem_ptr(start, end) received, in order.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& invalidations() const {
    return invalidations_;
  }

 private:
  void run() {
    if (body_) body_(*this);
  }
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
    invalidations_.emplace_back(start, end);
  }

  Body body_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> invalidations_;
};

// Shorthands for exact times in assertions.
inline sc_core::sc_time ns(double v) { return sc_core::sc_time(v, sc_core::SC_NS); }

}  // namespace cestvp::test
