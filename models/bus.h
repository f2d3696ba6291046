// Interconnect: decodes addresses from the platform address map and forwards transactions to
// targets with block-relative addresses. An unmapped access (or one crossing the end of a
// region) is answered with TLM_ADDRESS_ERROR_RESPONSE; the simulation goes on. DMI and debug
// transport are forwarded with addresses translated both ways. Every transaction crossing the
// bus costs hop_latency.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

namespace cestvp {

class FaultLog;
class Tracer;

class Bus : public sc_core::sc_module {
 public:
  struct Params {
    sc_core::sc_time hop_latency;
  };

  tlm_utils::multi_passthrough_target_socket<Bus> in;      // initiators bind here
  tlm_utils::multi_passthrough_initiator_socket<Bus> out;  // bound to targets

  Bus(const sc_core::sc_module_name& name, const Params& params);

  // Binds an initiator socket; its index (in bind order) identifies it in traces.
  template <typename Socket>
  void connect_initiator(Socket& socket, const std::string& name) {
    socket.bind(in);
    initiator_names_.push_back(name);
  }
  // Binds a target and maps it at [base, base + size).
  template <typename Socket>
  void map_target(Socket& socket, std::uint64_t base, std::uint64_t size, const std::string& name) {
    out.bind(socket);
    add_route(base, size, name);
  }

  void set_tracer(Tracer* tracer) { tracer_ = tracer; }
  // Error responses are reported there with their initiator and address.
  void set_fault_log(FaultLog* faults) { faults_ = faults; }
  const std::vector<std::string>& initiator_names() const { return initiator_names_; }
  const std::vector<std::string>& target_names() const { return target_names_; }

  std::uint64_t transactions() const { return transactions_; }
  std::uint64_t error_responses() const { return error_responses_; }

  // The last transactions, oldest first, for a diagnostic dump (a hang, a fault).
  struct Transaction {
    sc_core::sc_time start;
    unsigned initiator;
    tlm::tlm_command command;
    std::uint64_t address;
    std::uint32_t length;
    tlm::tlm_response_status response;
  };
  std::vector<Transaction> recent_transactions() const;

 private:
  struct Route {
    std::uint64_t base;
    std::uint64_t size;
    unsigned target;
  };

  void add_route(std::uint64_t base, std::uint64_t size, const std::string& name);
  const Route* decode(std::uint64_t addr, std::uint64_t length) const;

  void b_transport(int initiator, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(int initiator, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(int initiator, tlm::tlm_generic_payload& gp);
  void invalidate_direct_mem_ptr(int target, sc_dt::uint64 start, sc_dt::uint64 end);

  Params params_;
  std::vector<Route> routes_;  // sorted by base, non-overlapping
  std::vector<std::string> initiator_names_;
  std::vector<std::string> target_names_;
  Tracer* tracer_ = nullptr;
  FaultLog* faults_ = nullptr;
  static constexpr std::size_t kRecent = 16;
  Transaction recent_[kRecent] = {};
  std::uint64_t transactions_ = 0;
  std::uint64_t error_responses_ = 0;
};

}  // namespace cestvp
