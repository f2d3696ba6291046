#!/usr/bin/env python3
"""Compares the libm bit patterns printed by math_cmp on x86-64 and on riscv64 (unicorn)."""
import struct, sys
names = ["expf", "logf", "erff", "sqrtf", "exp", "log", "pow"]
def rows(path):
    return [l.split()[1:] for l in open(path) if l.startswith("M ")]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert len(a) == len(b), (len(a), len(b))
def ulps(x, y, wide):
    fmt, ifmt = ("<d", "<q") if wide else ("<f", "<i")
    xi = struct.unpack(ifmt, struct.pack(fmt, struct.unpack(fmt, bytes.fromhex(x)[::-1])[0]))[0]
    yi = struct.unpack(ifmt, struct.pack(fmt, struct.unpack(fmt, bytes.fromhex(y)[::-1])[0]))[0]
    return abs(xi - yi)
for k, name in enumerate(names):
    diff = [ulps(r[k], s[k], len(r[k]) == 16) for r, s in zip(a, b) if r[k] != s[k]]
    print(f"{name:6s} {len(a)} inputs: {len(diff)} differ" + (f", max {max(diff)} ulp" if diff else ""))
