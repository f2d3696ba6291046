#include "host_cpu.h"

#include <iomanip>
#include <iostream>

namespace cestvp {

namespace {

const char* level_name(fw::LogLevel level) {
  switch (level) {
    case fw::LogLevel::error: return "error";
    case fw::LogLevel::warning: return "warning";
    case fw::LogLevel::info: return "info";
    case fw::LogLevel::debug: return "debug";
  }
  return "?";
}

}  // namespace

fw::BusStatus to_bus_status(tlm::tlm_response_status s) {
  switch (s) {
    case tlm::TLM_OK_RESPONSE: return fw::BusStatus::ok;
    case tlm::TLM_ADDRESS_ERROR_RESPONSE: return fw::BusStatus::address_error;
    case tlm::TLM_COMMAND_ERROR_RESPONSE: return fw::BusStatus::command_error;
    case tlm::TLM_BURST_ERROR_RESPONSE: return fw::BusStatus::burst_error;
    default: return fw::BusStatus::generic_error;
  }
}

HostCpu::HostCpu(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name), socket("socket"), irq("irq"), params_(params) {
  socket.register_invalidate_direct_mem_ptr(this, &HostCpu::invalidate_dmi);
}

bool HostCpu::take_expected_fault() {
  if (expected_faults_ == 0) return false;
  --expected_faults_;
  return true;
}

void HostCpu::set_timeline(Timeline* timeline) {
  timeline_ = timeline;
  if (timeline_) phase_track_ = timeline_->declare("firmware");
}

void HostCpu::stop_for_good() {
  sc_core::sc_stop();
  for (;;) sc_core::wait(never_);
}

void HostCpu::firmware_log(fw::LogLevel level, const std::string& message, const sc_core::sc_time& now) const {
  if (level > params_.log_level) return;
  std::ostream& os = params_.log ? *params_.log : std::cout;
  os << '[' << std::fixed << std::setprecision(3) << std::setw(12) << now.to_seconds() * 1e6 << " us] fw "
     << level_name(level) << ": " << message << '\n';
}

void HostCpu::flush_log() const { (params_.log ? *params_.log : std::cout).flush(); }

void HostCpu::firmware_phase(const std::string& name, const sc_core::sc_time& now) {
  ++progress_;
  step_ = name;
  if (timeline_) timeline_->mark(phase_track_, name, static_cast<std::uint64_t>(now / sc_core::sc_time(1, sc_core::SC_PS)));
  if (on_phase_) on_phase_(name, now);
}

void HostCpu::firmware_finished(int exit_code) {
  exit_code_ = exit_code;
  finished_ = true;
  sc_core::sc_stop();
}

}  // namespace cestvp
