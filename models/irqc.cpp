#include "irqc.h"

#include <cassert>

#include <cestvp/regs.h>
#include <regmap_tables.h>

namespace cestvp {

namespace r = regs::irqc;

Irqc::Irqc(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name),
      socket("socket"),
      lines("lines", params.lines),
      cpu_irq("cpu_irq"),
      params_(params),
      regs_(regmap::irqc) {
  assert(params.lines <= 32);
  socket.register_b_transport(this, &Irqc::b_transport);
  socket.register_transport_dbg(this, &Irqc::transport_dbg);

  regs_.on_read(r::RAW, [this] { return raw_; });
  regs_.on_write(r::ENABLE, [this](std::uint32_t) { update_cpu_irq(); });
  regs_.on_write(r::ACK, [this](std::uint32_t v) {
    regs_.set(r::PENDING, regs_.get(r::PENDING) & ~v);
    update_cpu_irq();
  });
  // Firmware reads PENDING after waking up and acknowledges it: both must see the present.
  regs_.sync_on_access(r::PENDING);
  regs_.sync_on_access(r::ACK);
  regs_.sync_on_access(r::ENABLE);

  SC_METHOD(drive_cpu_irq);
  sensitive << irq_changed_;
  dont_initialize();

  SC_METHOD(sample_lines);
  for (auto& line : lines) sensitive << line;
  dont_initialize();
}

void Irqc::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  regs_.transport(gp, delay);
  delay += params_.register_latency;
}

unsigned Irqc::transport_dbg(tlm::tlm_generic_payload& gp) { return regs_.transport_dbg(gp); }

void Irqc::sample_lines() {
  std::uint32_t now = 0;
  for (unsigned i = 0; i < lines.size(); ++i)
    if (lines[i].read()) now |= 1u << i;
  const std::uint32_t rising = now & ~raw_;
  raw_ = now;
  if (rising) {
    regs_.set(r::PENDING, regs_.get(r::PENDING) | rising);
    update_cpu_irq();
  }
}

// cpu_irq has one driver, drive_cpu_irq: register writes run in the initiator's thread.
void Irqc::update_cpu_irq() { irq_changed_.notify(sc_core::SC_ZERO_TIME); }

void Irqc::drive_cpu_irq() { cpu_irq.write((regs_.get(r::PENDING) & regs_.get(r::ENABLE)) != 0); }

}  // namespace cestvp
