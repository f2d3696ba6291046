// DDR memory: a sparse, page-allocated backing store (a 64 GiB map allocates only the pages
// that are written), with a timing model of interleaved channels.
//
// Timing of one access of `len` bytes arriving at local time t (docs/platform.md):
//   the access is cut at interleave boundaries; chunk i goes to channel (addr_i / interleave)
//   mod channels and occupies it for bytes_i / channel_bandwidth, starting when both the
//   chunk has arrived and the channel is free (busy-until per channel: concurrent initiators
//   contend); the access completes `latency` after its last chunk leaves its channel.
// Reads and writes cost the same. DMI is granted page by page for functional speed; DMI
// accesses bypass the channel model and the byte counters (the initiator charges their time).
// A TimingOnly access (tlm_access.h) is timed and counted but moves no bytes and allocates no page.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace cestvp {

class Ddr : public sc_core::sc_module {
 public:
  struct Params {
    std::uint64_t size = 0;  // bytes
    unsigned channels = 1;
    double channel_bandwidth_Bps = 0;
    sc_core::sc_time latency;
    std::uint64_t interleave_bytes = 0;
  };
  static constexpr std::uint64_t kPageBytes = 1 << 20;

  tlm_utils::simple_target_socket<Ddr> socket;

  Ddr(const sc_core::sc_module_name& name, const Params& params);

  // Backdoor access (loader, tests): no timing, no counters. Offsets are DDR-relative.
  void write(std::uint64_t offset, const void* src, std::uint64_t bytes);
  void read(std::uint64_t offset, void* dst, std::uint64_t bytes) const;

  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t bytes_written() const { return bytes_written_; }
  std::uint64_t pages_allocated() const { return pages_allocated_; }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  // Completion time of an access of len bytes at offset that arrives at `arrival`.
  sc_core::sc_time occupy_channels(std::uint64_t offset, std::uint64_t len,
                                   const sc_core::sc_time& arrival);
  // How long `bytes` occupy a channel. An sc_time from a double is costly and nearly every
  // chunk is a DMA burst of one size, so the last answer is kept.
  sc_core::sc_time channel_time(std::uint64_t bytes);
  std::uint8_t* page(std::uint64_t offset);  // allocates on first use
  const std::uint8_t* page_if_present(std::uint64_t offset) const;
  void copy(std::uint64_t offset, std::uint8_t* data, std::uint64_t len, bool is_write);

  Params params_;
  // Page-aligned, so that a CPU emulator can map a DMI page into its guest's memory directly.
  struct FreePage {
    void operator()(std::uint8_t* page) const { std::free(page); }
  };
  std::vector<std::unique_ptr<std::uint8_t, FreePage>> pages_;
  std::vector<sc_core::sc_time> channel_free_at_;
  std::uint64_t channel_time_bytes_ = 0;
  sc_core::sc_time channel_time_;  // of channel_time_bytes_
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::uint64_t pages_allocated_ = 0;
};

}  // namespace cestvp
