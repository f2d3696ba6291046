// The host CPU a satvp command boots the firmware on (--cpu, --firmware, --gdb): for the RV64
// core, the firmware ELF loaded and checked against the address map, and the GDB port opened,
// all before anything runs. Shared by satvp run and satvp host-costs.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "gdb_server.h"
#include "guest_image.h"
#include "vp.h"

namespace cestvp {

// The options as given.
struct HostChoice {
  std::string cpu;       // "" (the platform's host.cpu), native or rv64
  std::string firmware;  // the RV64 core's firmware ELF
  std::string gdb;       // "" or [ADDRESS:]PORT: serve GDB, halted at the entry
};

// What the RV64 core needs beyond the platform: the firmware ELF and, to debug it, a GDB server.
struct HostSetup {
  std::optional<GuestImage> elf;
  std::unique_ptr<GdbServer> gdb;

  void apply(VpOptions& options) const {
    options.firmware_elf = elf ? &*elf : nullptr;
    options.gdb = gdb.get();
  }
};

// Applies choice.cpu to config.host.cpu, and for the RV64 core loads and places the firmware ELF
// and opens the GDB port. `mode` is the SAT numerics mode of the run ("timing" cannot run on the
// RV64 core). Throws UserError naming the option at fault.
HostSetup prepare_host(const HostChoice& choice, PlatformConfig& config, const std::string& mode);

}  // namespace cestvp
