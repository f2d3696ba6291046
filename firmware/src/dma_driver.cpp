#include <cestvp/dma_driver.h>

#include <cstdio>
#include <cstring>

#include <cestvp/regs.h>

namespace cestvp::fw {

namespace r = regs::dma;
namespace desc = regs::dma_desc;

namespace {

std::uint32_t lo(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
std::uint32_t hi(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }

template <typename T>
void store_le(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);  // the control processor is little-endian, as is the DMA
}

}  // namespace

DmaDriver::DmaDriver(Hal& hal, Irq& irq, const BootInfo& boot, std::uint64_t timeout_ns)
    : io_(hal, boot.dma.base), irq_(irq), line_(boot.irq_dma), timeout_ns_(timeout_ns) {
  irq_.enable(line_);
}

const char* DmaDriver::cause_name(std::uint32_t code) { return r::to_string(static_cast<r::ErrorCodeCause>(code)); }

std::string DmaResult::describe() const {
  char buf[200];
  if (!problem.empty())
    std::snprintf(buf, sizeof buf, "driver: %s", problem.c_str());
  else if (ok)
    std::snprintf(buf, sizeof buf, "ok, %llu bytes, %u descriptors",
                  static_cast<unsigned long long>(bytes), descriptors);
  else
    std::snprintf(buf, sizeof buf, "engine error %s at 0x%016llx after %llu bytes",
                  DmaDriver::cause_name(error_code), static_cast<unsigned long long>(error_addr),
                  static_cast<unsigned long long>(bytes));
  return buf;
}

void DmaDriver::encode(const DmaCopy& copy, std::uint64_t next, std::uint8_t* out) {
  std::memset(out, 0, desc::SIZE);
  store_le(out + desc::SRC, copy.src);
  store_le(out + desc::DST, copy.dst);
  store_le(out + desc::LENGTH, copy.length);
  store_le(out + desc::ROWS, copy.rows);
  store_le(out + desc::SRC_STRIDE, copy.src_stride);
  store_le(out + desc::DST_STRIDE, copy.dst_stride);
  store_le(out + desc::NEXT, next);
}

void DmaDriver::start(const DmaCopy& c) {
  io_.write(r::SRC_LO, lo(c.src));
  io_.write(r::SRC_HI, hi(c.src));
  io_.write(r::DST_LO, lo(c.dst));
  io_.write(r::DST_HI, hi(c.dst));
  io_.write(r::LENGTH, c.length);
  io_.write(r::ROWS, c.rows);
  io_.write(r::SRC_STRIDE, c.src_stride);
  io_.write(r::DST_STRIDE, c.dst_stride);
  go(static_cast<std::uint32_t>(r::CtrlMode::DIRECT));
}

void DmaDriver::start_chain(std::uint64_t desc_addr) {
  io_.write(r::DESC_LO, lo(desc_addr));
  io_.write(r::DESC_HI, hi(desc_addr));
  go(static_cast<std::uint32_t>(r::CtrlMode::CHAIN));
}

void DmaDriver::go(std::uint32_t mode) {
  start_problem_.clear();
  const r::Ctrl ctrl =
      r::Ctrl{}.with_mode(static_cast<r::CtrlMode>(mode)).with_irq_done_en(true).with_irq_error_en(true);
  io_.write(r::CTRL, ctrl.value);
  io_.write(r::START, r::Start{}.with_go(true).value);
  if (io_.faulted()) {
    start_problem_ = "programming the DMA failed: " + io_.fault();
    io_.clear_fault();
  }
}

bool DmaDriver::busy() { return r::Status{io_.read(r::STATUS)}.busy(); }

DmaResult DmaDriver::wait() {
  DmaResult result;
  if (!start_problem_.empty()) {
    result.problem = start_problem_;
    return result;
  }
  if (!irq_.wait(line_, timeout_ns_)) {
    result.problem = irq_.io().faulted() ? "interrupt controller: " + irq_.io().fault()
                                         : "no DMA interrupt within the timeout";
    return result;
  }
  const r::IrqStatus events{io_.read(r::IRQ_STATUS)};
  io_.write(r::IRQ_STATUS, events.value);
  result.ok = !events.error() && events.done();
  result.error_code = static_cast<std::uint32_t>(r::ErrorCode{io_.read(r::ERROR_CODE)}.cause());
  result.error_addr = (std::uint64_t{io_.read(r::ERROR_ADDR_HI)} << 32) | io_.read(r::ERROR_ADDR_LO);
  result.bytes = (std::uint64_t{io_.read(r::BYTES_DONE_HI)} << 32) | io_.read(r::BYTES_DONE_LO);
  result.descriptors = io_.read(r::DESC_DONE);
  if (io_.faulted()) {
    result.ok = false;
    result.problem = "reading the DMA status failed: " + io_.fault();
    io_.clear_fault();
  }
  return result;
}

}  // namespace cestvp::fw
