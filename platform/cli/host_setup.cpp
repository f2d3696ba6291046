#include "cli/host_setup.h"

#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include "config/user_error.h"
#include "loader/elf_loader.h"

namespace cestvp {

namespace {

// --gdb PORT or ADDRESS:PORT (an IPv6 address in brackets); loopback unless an address is given.
std::pair<std::string, std::uint16_t> gdb_endpoint(const std::string& text) {
  const std::string expected = "; expected PORT or ADDRESS:PORT, e.g. --gdb 1234 or --gdb 0.0.0.0:1234";
  std::string address = "127.0.0.1", port = text;
  if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    address = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (address.size() > 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
    if (address.empty()) throw UserError("--gdb " + text + ": the address is empty" + expected);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw UserError("--gdb " + text + ": '" + port + "' is not a port number (0-65535)" + expected);
  return {address, static_cast<std::uint16_t>(std::stoul(port))};
}

}  // namespace

HostSetup prepare_host(const HostChoice& choice, PlatformConfig& config, const std::string& mode) {
  if (!choice.cpu.empty()) config.host.cpu = *parse_host_cpu(choice.cpu);
  HostSetup setup;
  const bool rv64 = config.host.cpu == PlatformConfig::Host::Cpu::rv64;
  if (!rv64) {
    if (!choice.gdb.empty())
      throw UserError("--gdb " + choice.gdb + ": GDB debugs the firmware ELF on the RV64 core; expected --cpu rv64 "
                      "(or host.cpu: rv64 in the platform YAML)");
    return setup;
  }
  if (mode == "timing")
    throw UserError("--mode timing: a timing run skips the firmware's host work, but the RV64 core times the host by "
                    "the instructions it executes; expected --cpu native for timing runs (its host cost table "
                    "can be measured on the RV64 core: satvp host-costs)");
  // The default ELF is built by the normal build, but not by a build of satvp alone.
  if (choice.firmware == CESTVP_FIRMWARE_ELF && !std::filesystem::exists(choice.firmware))
    throw UserError("--firmware " + choice.firmware + ": not built yet; expected the RV64 firmware ELF: build it with "
                    "`cmake --build --preset default` (everything) or `cmake --build build --target firmware_rv64`");
  setup.elf = load_guest_elf(choice.firmware);
  std::vector<AddressRange> others;
  for (const AddressRange& r : config.address_map)
    if (r.name != "host_ram") others.push_back(r);
  check_guest_placement(*setup.elf, config.region("host_ram"), others);
  if (!choice.gdb.empty()) {
    const auto [address, port] = gdb_endpoint(choice.gdb);
    try {
      setup.gdb = std::make_unique<GdbServer>(address, port);
    } catch (const GdbServer::Error& e) {
      throw UserError("--gdb " + choice.gdb + ": " + e.what() +
                      "; expected a local IP address (127.0.0.1, 0.0.0.0, ::1) and a free port, or 0 for any");
    }
  }
  return setup;
}

}  // namespace cestvp
