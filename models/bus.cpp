#include "bus.h"

#include <algorithm>
#include <cassert>

#include "fault_log.h"
#include "tlm_access.h"
#include "tracer.h"

namespace cestvp {

Bus::Bus(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name), in("in"), out("out"), params_(params) {
  in.register_b_transport(this, &Bus::b_transport);
  in.register_get_direct_mem_ptr(this, &Bus::get_direct_mem_ptr);
  in.register_transport_dbg(this, &Bus::transport_dbg);
  out.register_invalidate_direct_mem_ptr(this, &Bus::invalidate_direct_mem_ptr);
}

void Bus::add_route(std::uint64_t base, std::uint64_t size, const std::string& name) {
  assert(size > 0 && base + size > base && "the platform configuration validated the map");
  const Route route{base, size, static_cast<unsigned>(target_names_.size())};
  auto pos = std::lower_bound(routes_.begin(), routes_.end(), base,
                              [](const Route& r, std::uint64_t b) { return r.base < b; });
  assert((pos == routes_.end() || base + size <= pos->base) && "overlap rejected by the config");
  assert((pos == routes_.begin() || std::prev(pos)->base + std::prev(pos)->size <= base));
  routes_.insert(pos, route);
  target_names_.push_back(name);
}

const Bus::Route* Bus::decode(std::uint64_t addr, std::uint64_t length) const {
  auto pos = std::upper_bound(routes_.begin(), routes_.end(), addr,
                              [](std::uint64_t a, const Route& r) { return a < r.base; });
  if (pos == routes_.begin()) return nullptr;
  const Route& r = *std::prev(pos);
  const std::uint64_t offset = addr - r.base;
  if (offset >= r.size || length > r.size - offset) return nullptr;
  return &r;
}

void Bus::b_transport(int initiator, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
  const std::uint64_t addr = gp.get_address();
  delay += params_.hop_latency;
  const Route* route = decode(addr, gp.get_data_length());
  if (route) {
    gp.set_address(addr - route->base);
    out[route->target]->b_transport(gp, delay);
    gp.set_address(addr);
  } else {
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  }
  recent_[transactions_ % kRecent] = {start, static_cast<unsigned>(initiator), gp.get_command(), addr,
                                      gp.get_data_length(), gp.get_response_status()};
  ++transactions_;
  if (gp.is_response_error()) {
    ++error_responses_;
    if (faults_) {
      faults_->record("bus", response_name(gp.get_response_status()), initiator_names_.at(static_cast<std::size_t>(initiator)), addr,
                      std::string(gp.is_write() ? "write" : "read") + " of " + std::to_string(gp.get_data_length()) + " B",
                      start);
    }
  }
  if (tracer_)
    tracer_->transaction(static_cast<unsigned>(initiator), route ? static_cast<int>(route->target) : -1,
                         gp, start, sc_core::sc_time_stamp() + delay);
}

bool Bus::get_direct_mem_ptr(int, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
  const std::uint64_t addr = gp.get_address();
  const Route* route = decode(addr, 1);
  if (!route) return false;
  gp.set_address(addr - route->base);
  const bool granted = out[route->target]->get_direct_mem_ptr(gp, dmi);
  gp.set_address(addr);
  // The target speaks in its own offsets, for a grant and for the range of a refusal alike;
  // initiators need bus addresses, clipped to the region. Latencies stay the target's
  // per-line figures (dmi_timing.h).
  const std::uint64_t last = std::min<std::uint64_t>(dmi.get_end_address(), route->size - 1);
  dmi.set_start_address(dmi.get_start_address() + route->base);
  dmi.set_end_address(last + route->base);
  return granted;
}

unsigned Bus::transport_dbg(int, tlm::tlm_generic_payload& gp) {
  const std::uint64_t addr = gp.get_address();
  const Route* route = decode(addr, gp.get_data_length());
  if (!route) return 0;
  gp.set_address(addr - route->base);
  const unsigned n = out[route->target]->transport_dbg(gp);
  gp.set_address(addr);
  return n;
}

void Bus::invalidate_direct_mem_ptr(int target, sc_dt::uint64 start, sc_dt::uint64 end) {
  for (const Route& r : routes_) {
    if (r.target != static_cast<unsigned>(target) || start >= r.size) continue;
    const std::uint64_t last = std::min<std::uint64_t>(end, r.size - 1);
    for (unsigned i = 0; i < in.size(); ++i)
      in[i]->invalidate_direct_mem_ptr(r.base + start, r.base + last);
  }
}

std::vector<Bus::Transaction> Bus::recent_transactions() const {
  std::vector<Transaction> recent;
  for (std::uint64_t i = transactions_ > kRecent ? transactions_ - kRecent : 0; i < transactions_; ++i)
    recent.push_back(recent_[i % kRecent]);
  return recent;
}

}  // namespace cestvp
