// CESTVP_KEEP_CALL marks a contract function that the firmware used to define in one of its
// source files: the compiler neither inlines it nor optimises its callers with what it knows of
// its body (GCC's noipa), so the RV64 firmware runs the same instructions as it did, and its
// simulated time on the RV64 core, which is its instruction count, stays the same.
#pragma once

#if defined(__has_attribute)
#if __has_attribute(noipa)
#define CESTVP_KEEP_CALL __attribute__((noipa))
#endif
#endif
#ifndef CESTVP_KEEP_CALL
#define CESTVP_KEEP_CALL __attribute__((noinline))
#endif
