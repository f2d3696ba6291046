#include "fault_log.h"

#include <cinttypes>
#include <cstdio>

namespace cestvp {

namespace {

const char* register_at(const BlockSpec& block, std::uint64_t offset) {
  for (std::size_t i = 0; i < block.count; ++i)
    if (block.regs[i].offset == (offset & ~std::uint64_t{3})) return block.regs[i].name;
  return nullptr;
}

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%" PRIx64, value);
  return text;
}

}  // namespace

void FaultLog::declare_region(const std::string& name, std::uint64_t base, std::uint64_t size,
                              const BlockSpec* registers) {
  regions_.push_back({name, base, size, registers});
}

std::string FaultLog::place(std::uint64_t address) const {
  for (const Region& r : regions_) {
    if (address < r.base || address - r.base >= r.size) continue;
    const std::uint64_t offset = address - r.base;
    if (r.registers)
      if (const char* reg = register_at(*r.registers, offset))
        return r.name + '.' + reg + (offset % 4 ? " + " + std::to_string(offset % 4) + " (misaligned)" : "");
    return r.name + " + " + hex(offset) + (r.registers ? " (no register there)" : "");
  }
  return "unmapped";
}

void FaultLog::record(const std::string& source, const std::string& what, const std::string& initiator,
                      std::uint64_t address, std::string detail, const sc_core::sc_time& at) {
  add({at, source, what, initiator, address, place(address), {}, std::move(detail)});
}

void FaultLog::record_register(const std::string& source, const std::string& what, const BlockSpec& block,
                               std::uint32_t offset, std::string detail, const sc_core::sc_time& at) {
  for (const Region& r : regions_)
    if (r.registers == &block) return add({at, source, what, {}, r.base + offset, place(r.base + offset), {}, std::move(detail)});
  add({at, source, what, {}, offset, std::string(block.name) + " + " + hex(offset), {}, std::move(detail)});
}

void FaultLog::add(Fault fault) {
  if (step_) fault.step = step_();
  fault.expected = expected_ && expected_();
  ++count_;
  if (!fault.expected) ++unexpected_;
  if (first_.size() < kKept) first_.push_back(fault);
  last_ = std::move(fault);
  if (stop_ && count_ == 1) stop_();
}

std::vector<FaultLog::Fault> FaultLog::kept() const {
  std::vector<Fault> faults = first_;
  if (count_ > first_.size()) faults.push_back(last_);
  return faults;
}

std::string FaultLog::describe(const Fault& f) {
  char at[32];
  std::snprintf(at, sizeof at, "%.3f us", f.at.to_seconds() * 1e6);
  std::string line = std::string(at) + "  " + f.source + ": " + f.what;
  if (!f.initiator.empty()) line += ", " + f.initiator + ' ' + f.detail + " at " + hex(f.address) + " (" + f.place + ')';
  else line += " (" + f.place + " at " + hex(f.address) + (f.detail.empty() ? "" : "; " + f.detail) + ')';
  line += f.step.empty() ? "; firmware step: none yet" : "; firmware step: " + f.step;
  if (f.expected) line += " (provoked on purpose by the firmware)";
  return line;
}

}  // namespace cestvp
