// Faults the firmware can see, collected for the person debugging it: a bus access answered
// with an error, an engine job that ended in ERROR, a DMA transfer stopped by an error, a START
// while busy. Models report what they know (who, where, why); the log adds the bus address and
// register name of the place and the firmware's step at the time (fw::Hal::phase). Nothing here
// changes what the firmware sees: the models answer exactly as before, and the firmware decides
// whether a fault was expected (bring-up provokes some on purpose). satvp prints the faults when
// the firmware fails or hangs, and exits 5 (docs/reliability.md).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <systemc>

#include "regspec.h"

namespace cestvp {

class FaultLog {
 public:
  struct Fault {
    sc_core::sc_time at;
    std::string source;     // the model that saw it: "bus", "sat.stce", "dma"
    std::string what;       // ADDRESS_ERROR, BAD_SHAPE, READ_ERROR, START_WHILE_BUSY, ...
    std::string initiator;  // whose access failed: "cpu", "dma"; empty for a job's own error
    std::uint64_t address = 0;  // bus address of the failing access or of the START register
    std::string place;      // "sat_regs.STCE_START", "ddr + 0x1000", "unmapped"
    std::string step;       // the firmware's step at the time, "" before its first
    std::string detail;     // "write of 4 B", the job's registers, ...
    bool expected = false;  // the firmware announced it (fw::Hal::expect_faults)
  };

  // A region of the address map, so that faults name it (and its register, for a register block).
  void declare_region(const std::string& name, std::uint64_t base, std::uint64_t size,
                      const BlockSpec* registers = nullptr);
  // Where the firmware is; asked at each fault.
  void set_step_source(std::function<std::string()> step) { step_ = std::move(step); }
  // Whether the fault being recorded was announced by the firmware; asked at each fault.
  void set_expected_source(std::function<bool()> expected) { expected_ = std::move(expected); }
  // Called at the first fault, to end the simulation there and look at the state it left.
  void set_stop_on_fault(std::function<void()> stop) { stop_ = std::move(stop); }

  // A failing access at a bus address.
  void record(const std::string& source, const std::string& what, const std::string& initiator, std::uint64_t address,
              std::string detail, const sc_core::sc_time& at);
  // An error of a register block's device, placed at one of its registers (a job's START).
  void record_register(const std::string& source, const std::string& what, const BlockSpec& block, std::uint32_t offset,
                       std::string detail, const sc_core::sc_time& at);

  std::uint64_t count() const { return count_; }
  // Faults the firmware did not announce: the ones that can explain a failure.
  std::uint64_t unexpected() const { return unexpected_; }
  // The first kKept faults and the last one, in order.
  std::vector<Fault> kept() const;
  static std::string describe(const Fault& fault);  // one line
  // "sat_regs.STCE_START", "ddr + 0x1000", "unmapped": a bus address as a person reads it.
  std::string place(std::uint64_t address) const;

  static constexpr std::size_t kKept = 32;

 private:
  struct Region {
    std::string name;
    std::uint64_t base, size;
    const BlockSpec* registers;
  };
  void add(Fault fault);

  std::vector<Region> regions_;
  std::function<std::string()> step_;
  std::function<bool()> expected_;
  std::function<void()> stop_;
  std::vector<Fault> first_;
  Fault last_;
  std::uint64_t count_ = 0, unexpected_ = 0;
};

}  // namespace cestvp
