// Math functions whose results are the same bits on every target the firmware runs on.
//
// Training on the VP must give bit-identical weights whether the firmware is built for the
// x86-64 host or cross-built for riscv64. glibc's erff does not: the two builds of its
// algorithm disagree by 1 ulp on about 1 % of inputs (docs/firmware-guide.md, RV64 core),
// because the riscv64 libm is compiled with fused multiply-adds. The functions here use only
// IEEE-754 basic operations (+ - * /, each rounded once to nearest) in a fixed order, plus expf,
// which measured identical on both targets. They are defined in portable_math.cpp, which the
// firmware compiles with -ffp-contract=off: inlined into code built with contraction, the same
// expressions could fuse into multiply-adds and change bits.
#pragma once

namespace cestvp::fw {

// erf(x) in single precision, within 2 ulp of the correctly rounded value (1 ulp at most over
// all floats, measured against double-precision erf); exactly odd (erf_f32(-x) == -erf_f32(x)).
// A NaN input comes back unchanged.
float erf_f32(float x);

}  // namespace cestvp::fw
