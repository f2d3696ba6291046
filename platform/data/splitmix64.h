// The platform's name for the generator the firmware shares (cestvp/sample_order.h).
#pragma once
#include <cestvp/sample_order.h>

namespace cestvp {

using fw::SplitMix64;

}  // namespace cestvp
