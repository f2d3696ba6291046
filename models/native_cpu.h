// Native host CPU: runs the firmware as host code in an SC_THREAD. Its HAL turns register and
// memory accesses into TLM transactions on its initiator socket, temporally decoupled through a
// quantum keeper; block accesses go through DMI where a target grants it; host compute is timed
// by the firmware's cost model (Hal::charge_host_time). Bus errors are returned to the firmware
// and logged (the bus reports them to the platform's FaultLog).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "host_cpu.h"

namespace cestvp {

class NativeCpu final : public HostCpu {
 public:
  using Program = std::function<int(fw::Hal&)>;

  NativeCpu(const sc_core::sc_module_name& name, const Params& params, Program program);
  ~NativeCpu() override;
  SC_HAS_PROCESS(NativeCpu);

  bool computing() const override;

 private:
  class TlmHal;
  void run();
  void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) override;

  Program program_;
  std::unique_ptr<TlmHal> hal_;
};

}  // namespace cestvp
