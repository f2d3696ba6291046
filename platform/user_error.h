// Errors a user can cause (bad files, bad options) are reported as UserError with context;
// satvp prints the message and exits non-zero. Internal invariants use assertions instead.
#pragma once
#include <stdexcept>
#include <string>

namespace cestvp {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cestvp
