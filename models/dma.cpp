#include "dma.h"

#include <algorithm>
#include <cstring>

#include <cestvp/regs.h>
#include <regmap_tables.h>

#include "tlm_access.h"

namespace cestvp {

namespace r = regs::dma;
namespace desc = regs::dma_desc;

namespace {

std::uint64_t join(std::uint32_t lo, std::uint32_t hi) { return (std::uint64_t{hi} << 32) | lo; }

template <typename T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the platform and its host are little-endian
  return v;
}

constexpr std::uint32_t state_bits(r::StatusState s) {
  return static_cast<std::uint32_t>(s);
}

}  // namespace

Dma::Dma(const sc_core::sc_module_name& name, const Params& params)
    : sc_module(name),
      regs_socket("regs_socket"),
      data_socket("data_socket"),
      irq("irq"),
      params_(params),
      regs_(regmap::dma),
      buffer_(params.burst_bytes) {
  regs_socket.register_b_transport(this, &Dma::b_transport);
  regs_socket.register_transport_dbg(this, &Dma::transport_dbg);
  if (params.timing_only) burst_gp_.set_extension(new TimingOnly);

  regs_.on_write(r::CTRL, [this](std::uint32_t) { update_irq(); });
  regs_.on_write(r::START, [this](std::uint32_t v) { write_start(v); });
  regs_.sync_on_access(r::START);
  regs_.on_read(r::STATUS, [this] { return read_status(); });
  regs_.sync_on_access(r::STATUS);
  regs_.on_write(r::IRQ_STATUS, [this](std::uint32_t) { update_irq(); });
  regs_.sync_on_access(r::IRQ_STATUS);
  // Progress counts are members, read through callbacks: bursts update them at full speed.
  regs_.on_read(r::BYTES_DONE_LO, [this] { return static_cast<std::uint32_t>(bytes_done_); });
  regs_.on_read(r::BYTES_DONE_HI, [this] { return static_cast<std::uint32_t>(bytes_done_ >> 32); });
  regs_.on_read(r::DESC_DONE, [this] { return desc_done_; });

  SC_THREAD(run);
  SC_METHOD(drive_irq);
  sensitive << irq_changed_;
  dont_initialize();
}

void Dma::set_tracer(Tracer* tracer) {
  tracer_ = tracer;
  static_assert(state_bits(r::StatusState::WRITE) == 3, "names below follow regmap.yaml's STATUS.STATE");
  if (tracer_ && tracer_->vcd_enabled())
    state_signal_ = tracer_->declare(name(), "state", 4, {"IDLE", "FETCH", "READ", "WRITE"});
}

void Dma::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  regs_.transport(gp, delay);
  delay += params_.register_latency;
}

unsigned Dma::transport_dbg(tlm::tlm_generic_payload& gp) { return regs_.transport_dbg(gp); }

std::uint32_t Dma::read_status() const {
  return r::Status{}.with_busy(busy_).with_state(static_cast<r::StatusState>(state_)).value;
}

// irq has one driver, drive_irq: register writes run in the initiator's thread, completion in
// the engine's.
void Dma::update_irq() { irq_changed_.notify(sc_core::SC_ZERO_TIME); }

void Dma::drive_irq() {
  const r::Ctrl ctrl{regs_.get(r::CTRL)};
  const r::IrqStatus pending{regs_.get(r::IRQ_STATUS)};
  const bool level = (pending.done() && ctrl.irq_done_en()) || (pending.error() && ctrl.irq_error_en());
  irq.write(level);
}

void Dma::write_start(std::uint32_t value) {
  if (!r::Start{value}.go()) return;
  if (busy_) {
    // The running transfer is not disturbed; firmware learns of its mistake through ERROR.
    if (faults_)
      faults_->record_register(name(), "START_WHILE_BUSY", regmap::dma, r::START, "the running transfer goes on",
                               sc_core::sc_time_stamp());
    regs_.set(r::ERROR_CODE, static_cast<std::uint32_t>(r::ErrorCodeCause::START_WHILE_BUSY));
    regs_.set(r::IRQ_STATUS, regs_.get(r::IRQ_STATUS) | r::IRQ_STATUS_ERROR_MASK);
    update_irq();
    return;
  }
  for (std::uint32_t reg : {r::ERROR_CODE, r::ERROR_ADDR_LO, r::ERROR_ADDR_HI}) regs_.set(reg, 0);
  const r::CtrlMode mode = r::Ctrl{regs_.get(r::CTRL)}.mode();
  chain_ = mode == r::CtrlMode::CHAIN;
  direct_ = {join(regs_.get(r::SRC_LO), regs_.get(r::SRC_HI)),
             join(regs_.get(r::DST_LO), regs_.get(r::DST_HI)),
             regs_.get(r::LENGTH),
             regs_.get(r::ROWS),
             regs_.get(r::SRC_STRIDE),
             regs_.get(r::DST_STRIDE)};
  first_descriptor_ = join(regs_.get(r::DESC_LO), regs_.get(r::DESC_HI));
  bytes_done_ = 0;
  desc_done_ = 0;
  busy_ = true;
  start_event_.notify(sc_core::SC_ZERO_TIME);
}

void Dma::run() {
  for (;;) {
    sc_core::wait(start_event_);
    qk_.reset();
    Fault fault{};
    const bool ok = chain_ ? run_chain(fault) : copy_rows(direct_, fault);
    qk_.sync();
    finish(ok, fault);
  }
}

bool Dma::run_chain(Fault& fault) {
  std::uint64_t addr = first_descriptor_;
  do {
    Copy copy{};
    std::uint64_t next = 0;
    if (!fetch_descriptor(addr, copy, next, fault) || !copy_rows(copy, fault)) return false;
    ++desc_done_;
    addr = next;
  } while (addr != 0);
  return true;
}

bool Dma::fetch_descriptor(std::uint64_t addr, Copy& copy, std::uint64_t& next, Fault& fault) {
  set_state(state_bits(r::StatusState::FETCH));
  std::uint8_t d[desc::SIZE];
  if (addr % 8 != 0 || !access(descriptor_gp_, tlm::TLM_READ_COMMAND, addr, d, desc::SIZE)) {
    fault = {static_cast<std::uint32_t>(r::ErrorCodeCause::DESC_ERROR), addr};
    return false;
  }
  copy = {load_le<std::uint64_t>(d + desc::SRC),        load_le<std::uint64_t>(d + desc::DST),
          load_le<std::uint32_t>(d + desc::LENGTH),     load_le<std::uint32_t>(d + desc::ROWS),
          load_le<std::uint32_t>(d + desc::SRC_STRIDE), load_le<std::uint32_t>(d + desc::DST_STRIDE)};
  next = load_le<std::uint64_t>(d + desc::NEXT);
  return true;
}

bool Dma::copy_rows(const Copy& copy, Fault& fault) {
  if (copy.length == 0 || copy.rows == 0) {
    fault = {static_cast<std::uint32_t>(r::ErrorCodeCause::ZERO_LENGTH), 0};
    return false;
  }
  for (std::uint32_t row = 0; row < copy.rows; ++row) {
    const std::uint64_t src = copy.src + std::uint64_t{row} * copy.src_stride;
    const std::uint64_t dst = copy.dst + std::uint64_t{row} * copy.dst_stride;
    for (std::uint32_t done = 0; done < copy.length;) {
      const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(params_.burst_bytes, copy.length - done));
      set_state(state_bits(r::StatusState::READ));
      if (!access(burst_gp_, tlm::TLM_READ_COMMAND, src + done, buffer_.data(), n)) {
        fault = {static_cast<std::uint32_t>(r::ErrorCodeCause::READ_ERROR), src + done};
        return false;
      }
      set_state(state_bits(r::StatusState::WRITE));
      if (!access(burst_gp_, tlm::TLM_WRITE_COMMAND, dst + done, buffer_.data(), n)) {
        fault = {static_cast<std::uint32_t>(r::ErrorCodeCause::WRITE_ERROR), dst + done};
        return false;
      }
      bytes_done_ += n;
      bytes_moved_total_ += n;
      done += n;
    }
  }
  return true;
}

bool Dma::access(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, std::uint64_t addr, std::uint8_t* data,
                 std::uint32_t bytes) {
  return decoupled_access(data_socket, gp, qk_, cmd, addr, data, bytes) == tlm::TLM_OK_RESPONSE;
}

void Dma::finish(bool ok, const Fault& fault) {
  set_state(state_bits(r::StatusState::IDLE));
  busy_ = false;
  std::uint32_t events = r::IRQ_STATUS_DONE_MASK;
  if (!ok) {
    regs_.set(r::ERROR_CODE, fault.cause);
    regs_.set(r::ERROR_ADDR_LO, static_cast<std::uint32_t>(fault.addr));
    regs_.set(r::ERROR_ADDR_HI, static_cast<std::uint32_t>(fault.addr >> 32));
    events = r::IRQ_STATUS_ERROR_MASK;
    if (faults_) report_fault(fault);
  }
  regs_.set(r::IRQ_STATUS, regs_.get(r::IRQ_STATUS) | events);
  update_irq();
}

void Dma::set_timeline(Timeline* timeline) {
  timeline_ = timeline;
  if (timeline_) track_ = timeline_->declare("DMA");
}

void Dma::set_state(std::uint32_t state) {
  const std::uint32_t idle = state_bits(r::StatusState::IDLE);
  const sc_core::sc_time now = sc_core::sc_time_stamp() + qk_.get_local_time();
  if ((state == idle) != (state_ == idle)) {
    const auto now_ps = static_cast<std::uint64_t>(now / sc_core::sc_time(1, sc_core::SC_PS));
    if (state != idle) {
      busy_since_ps_ = now_ps;
    } else {
      busy_ps_total_ += now_ps - busy_since_ps_;
      if (timeline_) timeline_->span(track_, "transfer", busy_since_ps_, now_ps);
    }
  }
  state_ = state;
  if (state_signal_.valid()) tracer_->change(state_signal_, now, state);
}

void Dma::report_fault(const Fault& fault) {
  const auto cause = static_cast<r::ErrorCodeCause>(fault.cause);
  const std::string transfer = std::to_string(bytes_done_) + " B of the transfer done";
  if (cause == r::ErrorCodeCause::ZERO_LENGTH)
    faults_->record_register(name(), r::to_string(cause), regmap::dma, r::START, "LENGTH or ROWS is 0",
                             sc_core::sc_time_stamp());
  else
    faults_->record(name(), r::to_string(cause), name(), fault.addr,
                    cause == r::ErrorCodeCause::DESC_ERROR ? "descriptor fetch" : "access after " + transfer,
                    sc_core::sc_time_stamp());
}

}  // namespace cestvp
