// The firmware's only way to reach hardware (NVDLA's seam): register and memory accesses,
// waiting for an interrupt, time, logging. The virtual platform implements it with TLM
// transactions from the host CPU model; a real control processor would implement it with
// volatile loads and stores. Firmware code never includes SystemC.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cestvp::fw {

// Outcome of one bus access as the hardware reports it.
enum class BusStatus : std::uint8_t {
  ok,
  address_error,  // nothing mapped there, or an unmapped register offset
  command_error,  // e.g. write to a read-only register
  burst_error,    // wrong access size or alignment
  generic_error,
};
constexpr const char* to_string(BusStatus status) {
  switch (status) {
    case BusStatus::ok: return "OK";
    case BusStatus::address_error: return "ADDRESS_ERROR";
    case BusStatus::command_error: return "COMMAND_ERROR";
    case BusStatus::burst_error: return "BURST_ERROR";
    case BusStatus::generic_error: return "GENERIC_ERROR";
  }
  return "?";
}

inline constexpr std::uint64_t kNoTimeout = UINT64_MAX;

enum class LogLevel : std::uint8_t { error, warning, info, debug };

class Hal {
 public:
  virtual ~Hal() = default;

  virtual BusStatus read32(std::uint64_t addr, std::uint32_t& value) = 0;
  virtual BusStatus write32(std::uint64_t addr, std::uint32_t value) = 0;
  // Block memory access (DDR, SRAM), for buffers of any size.
  virtual BusStatus read_block(std::uint64_t addr, void* dst, std::size_t bytes) = 0;
  virtual BusStatus write_block(std::uint64_t addr, const void* src, std::size_t bytes) = 0;

  // Sleeps until the CPU's interrupt line is asserted, or timeout_ns of simulated time passed
  // (kNoTimeout: no limit). Returns false on timeout.
  virtual bool wait_for_interrupt(std::uint64_t timeout_ns) = 0;
  // Simulated time, in picoseconds.
  virtual std::uint64_t now_ps() = 0;
  // Accounts for compute the host CPU performs itself (e.g. verification loops).
  virtual void charge_host_time(std::uint64_t ps) = 0;
  // While false, block accesses cost no time: the firmware's host work is timed by its cost
  // model alone (charge_host_time), data accesses included, so that a timing-only run, which
  // skips the work, takes the same time. A real control processor ignores it.
  virtual void set_block_timing(bool charged) { (void)charged; }
  virtual void log(LogLevel level, const char* message) = 0;
  // The firmware enters a phase of its work ("layer 3 conv2d FF"), for a timeline of the run;
  // it lasts until the next phase. Costs no time; a real control processor may ignore it.
  virtual void phase(const char* name) { (void)name; }
  // The next `count` faults (bus errors, engine or DMA errors) are provoked on purpose, as
  // bring-up does to check that they are reported: the platform keeps them apart from the
  // faults that explain a failure. A real control processor ignores it.
  virtual void expect_faults(unsigned count) { (void)count; }
};

// Block accesses cost no time while it lives (Hal::set_block_timing): the scope of host work
// that the cost model times.
class CostedHostWork {
 public:
  explicit CostedHostWork(Hal& hal) : hal_(hal) { hal_.set_block_timing(false); }
  ~CostedHostWork() { hal_.set_block_timing(true); }
  CostedHostWork(const CostedHostWork&) = delete;
  CostedHostWork& operator=(const CostedHostWork&) = delete;

 private:
  Hal& hal_;
};

}  // namespace cestvp::fw
