// DMA driver: 1-D, 2-D strided and chained copies. copy() and run_chain() program the engine,
// start it, sleep until its interrupt and return what the engine reported; start() and
// start_chain() return at once and wait() collects the outcome, so that the firmware can run an
// engine job while the transfer is in flight (one transfer at a time).
#pragma once
#include <cstdint>
#include <string>

#include "irq.h"
#include "mmio.h"
#include <cestvp/boot_info.h>
#include <cestvp/hal.h>

namespace cestvp::fw {

struct DmaCopy {
  std::uint64_t src = 0;
  std::uint64_t dst = 0;
  std::uint32_t length = 0;  // bytes per row
  std::uint32_t rows = 1;
  std::uint32_t src_stride = 0;
  std::uint32_t dst_stride = 0;
};

struct DmaResult {
  bool ok = false;
  std::uint32_t error_code = 0;  // regs::dma::ErrorCodeCause
  std::uint64_t error_addr = 0;
  std::uint64_t bytes = 0;       // bytes the engine wrote
  std::uint32_t descriptors = 0;
  std::string problem;           // driver-level failure (timeout, bus error), empty if none
  std::string describe() const;  // one line for logs
};

class DmaDriver {
 public:
  DmaDriver(Hal& hal, Irq& irq, const BootInfo& boot, std::uint64_t timeout_ns);

  DmaResult copy(const DmaCopy& copy) { return start(copy), wait(); }
  // Runs the chain whose first descriptor is at desc_addr (written beforehand, see encode).
  DmaResult run_chain(std::uint64_t desc_addr) { return start_chain(desc_addr), wait(); }

  void start(const DmaCopy& copy);
  void start_chain(std::uint64_t desc_addr);
  // Waits for the transfer started last and reports how it ended.
  DmaResult wait();
  // A transfer is still in progress (STATUS.BUSY): after a wait() that timed out, the engine
  // may go on for a long time, and it has no abort.
  bool busy();

  // Fills a descriptor of regs::dma_desc::SIZE bytes.
  static void encode(const DmaCopy& copy, std::uint64_t next, std::uint8_t* out);
  static const char* cause_name(std::uint32_t code);

 private:
  void go(std::uint32_t mode);

  Mmio io_;
  Irq& irq_;
  unsigned line_;
  std::uint64_t timeout_ns_;
  std::string start_problem_;  // why the last start failed, empty if it did not
};

}  // namespace cestvp::fw
