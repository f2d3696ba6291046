// Register layer in the spirit of VCML: registers declared in map order from a generated
// BlockSpec; behaviour attached as short callbacks; illegal accesses answered with TLM error
// responses (never an abort); debug accesses without side effects.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <systemc>
#include <tlm>

#include "regspec.h"

namespace cestvp {

class RegisterBank {
 public:
  // Read callbacks compute a register's value and must be free of side effects, so that debug
  // reads may call them. Write callbacks run after the access semantics (RW stores, W1C clears)
  // with the value the initiator wrote.
  using ReadFn = std::function<std::uint32_t()>;
  using WriteFn = std::function<void(std::uint32_t written)>;

  explicit RegisterBank(const BlockSpec& spec);

  const BlockSpec& spec() const { return spec_; }

  void on_read(std::uint32_t offset, ReadFn fn);
  void on_write(std::uint32_t offset, WriteFn fn);
  // The initiator's annotated time is consumed (wait) before the callback runs, so that the
  // callback sees the simulated time at which the access really happens. Use for start
  // registers and for status registers that firmware polls.
  void sync_on_access(std::uint32_t offset);

  // Model-side access: no access checks, no callbacks.
  std::uint32_t get(std::uint32_t offset) const;
  void set(std::uint32_t offset, std::uint32_t value);
  // Sets a register's value now and at every reset (configuration registers).
  void preset(std::uint32_t offset, std::uint32_t value);
  void reset();

  // Handles a 32-bit TLM access at gp.get_address() (block-relative) and sets the response.
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  // Side-effect-free access for debuggers: reads call read callbacks only; writes store the
  // value without callbacks. Returns the number of bytes transferred.
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);

  // Name of the register at offset, or nullptr; for diagnostics.
  const char* name_at(std::uint64_t offset) const;

 private:
  struct Register {
    const RegSpec* spec;
    std::uint32_t value;
    std::uint32_t reset_value;
    ReadFn read;
    WriteFn write;
    bool sync = false;
  };

  Register* find(std::uint64_t offset);
  const Register* find(std::uint64_t offset) const;
  Register& at(std::uint32_t offset);
  const Register& at(std::uint32_t offset) const;

  const BlockSpec& spec_;
  std::vector<Register> regs_;
  std::vector<std::int32_t> index_;  // offset / 4 -> position in regs_, or -1
};

}  // namespace cestvp
