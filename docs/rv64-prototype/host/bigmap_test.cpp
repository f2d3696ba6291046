// Can unicorn 2.0.1 map a large, lazily-backed DDR window (uc_mem_map_ptr) above 4 GiB?
#include <sys/mman.h>
#include <unicorn/unicorn.h>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
int main(int argc, char** argv) {
  const std::uint64_t size = (argc > 1 ? std::strtoull(argv[1], nullptr, 0) : 16) << 30;
  const std::uint64_t base = 0x800000000ull;  // 32 GiB
  uc_engine* uc;
  uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &uc);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  uc_err e = uc_mem_map_ptr(uc, base, size, UC_PROT_ALL, p);
  std::printf("map %llu GiB at 0x%llx: %s\n", (unsigned long long)(size >> 30), (unsigned long long)base, uc_strerror(e));
  // guest code in a small RAM: li a0, base+size-8 ; sd a0, 0(a0); ld a1, 0(a0)
  std::uint8_t* ram = static_cast<std::uint8_t*>(mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  uc_mem_map_ptr(uc, 0x10000, 1 << 20, UC_PROT_ALL, ram);
  std::uint64_t a0 = base + size - 8;
  uc_reg_write(uc, UC_RISCV_REG_A0, &a0);
  const std::uint32_t code[] = {0x00a53023 /* sd a0,0(a0) */, 0x00053583 /* ld a1,0(a0) */};
  uc_mem_write(uc, 0x10000, code, sizeof code);
  e = uc_emu_start(uc, 0x10000, 0x10008, 0, 0);
  std::uint64_t a1 = 0;
  uc_reg_read(uc, UC_RISCV_REG_A1, &a1);
  std::printf("guest store/load at the top: %s, a1 == a0: %s, host sees it: %s\n", uc_strerror(e), a1 == a0 ? "yes" : "no",
              *reinterpret_cast<std::uint64_t*>(static_cast<std::uint8_t*>(p) + size - 8) == a0 ? "yes" : "no");
  uc_close(uc);
}
