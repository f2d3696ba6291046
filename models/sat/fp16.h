// Transitional: FP16 conversion is the contract's, <cestvp/fp16.h> (fw::half_to_float,
// fw::float_to_half). These names remain only for platform/data/npy.cpp and
// platform/loader/training_image.cpp; once they include <cestvp/fp16.h>, this header goes.
#pragma once
#include <cstdint>

#include <cestvp/fp16.h>

namespace cestvp::sat {

inline float fp16_to_float(std::uint16_t bits) { return fw::half_to_float(bits); }
inline std::uint16_t float_to_fp16(float value) { return fw::float_to_half(value); }

}  // namespace cestvp::sat
