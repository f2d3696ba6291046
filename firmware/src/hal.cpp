#include <cestvp/hal.h>

namespace cestvp::fw {

const char* to_string(BusStatus status) {
  switch (status) {
    case BusStatus::ok: return "OK";
    case BusStatus::address_error: return "ADDRESS_ERROR";
    case BusStatus::command_error: return "COMMAND_ERROR";
    case BusStatus::burst_error: return "BURST_ERROR";
    case BusStatus::generic_error: return "GENERIC_ERROR";
  }
  return "?";
}

}  // namespace cestvp::fw
