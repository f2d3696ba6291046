#include <cestvp/irq.h>

#include <cestvp/regs.h>

namespace cestvp::fw {

namespace r = regs::irqc;

void Irq::enable(unsigned line) { io_.write(r::ENABLE, io_.read(r::ENABLE) | (1u << line)); }

void Irq::service() {
  const std::uint32_t pending = io_.read(r::PENDING);
  if (io_.faulted() || pending == 0) return;
  io_.write(r::ACK, pending);
  events_ |= pending;
}

bool Irq::wait(unsigned line, std::uint64_t timeout_ns) {
  const std::uint32_t bit = 1u << line;
  const std::uint64_t deadline_ps =
      timeout_ns == kNoTimeout ? UINT64_MAX : hal_.now_ps() + timeout_ns * 1000;
  service();
  while (!(events_ & bit) && !io_.faulted()) {
    const std::uint64_t now = hal_.now_ps();
    if (now >= deadline_ps) return false;
    const std::uint64_t left_ns = deadline_ps == UINT64_MAX ? kNoTimeout : (deadline_ps - now + 999) / 1000;
    if (!hal_.wait_for_interrupt(left_ns)) return false;
    service();
  }
  const bool hit = (events_ & bit) != 0;
  events_ &= ~bit;
  return hit;
}

}  // namespace cestvp::fw
