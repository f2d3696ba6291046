// The RV64 firmware ELF loader: a small executable written field by field with <elf.h> and
// every parsed field checked against what was written; each kind of bad file and its message;
// placement in host RAM; and, where Debian's RISC-V cross compiler is installed, a real static
// program checked against binutils' readelf and nm.
#include <gtest/gtest.h>

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <tuple>

#include "loader/elf_loader.h"
#include "test_files.h"

namespace cestvp {
namespace {

using cestvp::test::error_of;
using cestvp::test::test_dir;
using cestvp::test::write_file;

namespace fs = std::filesystem;

template <typename T>
void put(std::vector<unsigned char>& bytes, std::uint64_t offset, const T& value) {
  if (bytes.size() < offset + sizeof value) bytes.resize(offset + sizeof value);
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <typename T>
T get(const std::vector<unsigned char>& bytes, std::uint64_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// A static RV64 executable as a linker lays one out, in miniature:
//   0x000 ELF header
//   0x040 3 program headers: PT_LOAD code (file 0..0x128, so that it also loads the headers),
//         PT_GNU_STACK, PT_LOAD data (0x20 bytes of file, 0x100 of memory)
//   0x0e8 code, 0x40 bytes: _start 0x10, cestvp::fw::run_bringup(cestvp::fw::Hal&) 0x20, main 0x10
//   0x128 data, 0x20 bytes
//   0x148 3 section headers: null, symbol table, string table
//   0x208 8 symbols, 0x2c8 their names
struct TestElf {
  static constexpr std::uint64_t kCodeBase = 0x80000000, kDataBase = 0x80001000;
  static constexpr std::uint64_t kPhoff = 0x40, kCodeOffset = 0xe8, kCodeBytes = 0x40;
  static constexpr std::uint64_t kDataOffset = 0x128, kDataBytes = 0x20, kDataMemory = 0x100;
  static constexpr std::uint64_t kShoff = 0x148, kSymtabOffset = 0x208, kSymbols = 8, kStrtabOffset = 0x2c8;
  static constexpr std::uint64_t kCodeAddr = kCodeBase + kCodeOffset;  // _start, the entry
  static constexpr std::uint64_t kBringupAddr = kCodeAddr + 0x10, kMainAddr = kCodeAddr + 0x30;

  std::vector<unsigned char> bytes;

  TestElf() {
    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_RISCV;
    header.e_version = EV_CURRENT;
    header.e_entry = kCodeAddr;
    header.e_phoff = kPhoff;
    header.e_shoff = kShoff;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = 3;
    header.e_shentsize = sizeof(Elf64_Shdr);
    header.e_shnum = 3;
    put(bytes, 0, header);

    put(bytes, phdr_offset(0), load(0, kCodeBase, kDataOffset, kDataOffset, PF_R | PF_X));
    Elf64_Phdr stack{};
    stack.p_type = PT_GNU_STACK;
    stack.p_flags = PF_R | PF_W;
    put(bytes, phdr_offset(1), stack);
    put(bytes, phdr_offset(2), load(kDataOffset, kDataBase, kDataBytes, kDataMemory, PF_R | PF_W));

    bytes.resize(kDataOffset + kDataBytes);
    for (std::uint64_t i = 0; i < kCodeBytes; ++i) bytes[kCodeOffset + i] = static_cast<unsigned char>(i * 7 + 1);
    for (std::uint64_t i = 0; i < kDataBytes; ++i) bytes[kDataOffset + i] = static_cast<unsigned char>(0xd0 + i);

    std::string names(1, '\0');
    const auto name = [&names](const std::string& text) {
      const auto offset = static_cast<Elf64_Word>(names.size());
      names += text + '\0';
      return offset;
    };
    const std::vector<Elf64_Sym> symbols = {
        Elf64_Sym{},
        // A hidden alias at main's address, as static glibc has them, listed first and sorting
        // first by name: a local name must not win over a global one.
        symbol(name("__GI_main"), STB_LOCAL, STT_FUNC, kMainAddr, 0x10),
        symbol(name("_start"), STB_GLOBAL, STT_FUNC, kCodeAddr, 0x10),
        symbol(name("_ZN6cestvp2fw11run_bringupERNS0_3HalE"), STB_GLOBAL, STT_FUNC, kBringupAddr, 0x20),
        symbol(name("main"), STB_GLOBAL, STT_FUNC, kMainAddr, 0x10),
        // Not functions with a place and a size: left out.
        symbol(name("data_object"), STB_GLOBAL, STT_OBJECT, kDataBase, 4),
        symbol(name("puts"), STB_GLOBAL, STT_FUNC, 0, 8, SHN_UNDEF),
        symbol(name("no_size"), STB_GLOBAL, STT_FUNC, kCodeAddr + 0x3c, 0),
    };
    static_assert(kSymtabOffset == kShoff + 3 * sizeof(Elf64_Shdr));
    static_assert(kStrtabOffset == kSymtabOffset + kSymbols * sizeof(Elf64_Sym));
    EXPECT_EQ(symbols.size(), kSymbols);

    Elf64_Shdr symtab{};
    symtab.sh_type = SHT_SYMTAB;
    symtab.sh_offset = kSymtabOffset;
    symtab.sh_size = kSymbols * sizeof(Elf64_Sym);
    symtab.sh_link = 2;
    symtab.sh_info = 2;  // the first global symbol
    symtab.sh_entsize = sizeof(Elf64_Sym);
    Elf64_Shdr strtab{};
    strtab.sh_type = SHT_STRTAB;
    strtab.sh_offset = kStrtabOffset;
    strtab.sh_size = names.size();
    put(bytes, kShoff, Elf64_Shdr{});
    put(bytes, shdr_offset(1), symtab);
    put(bytes, shdr_offset(2), strtab);
    for (std::size_t i = 0; i < symbols.size(); ++i) put(bytes, kSymtabOffset + i * sizeof(Elf64_Sym), symbols[i]);
    bytes.resize(kStrtabOffset);
    bytes.insert(bytes.end(), names.begin(), names.end());
  }

  static std::uint64_t phdr_offset(unsigned i) { return kPhoff + i * sizeof(Elf64_Phdr); }
  static std::uint64_t shdr_offset(unsigned i) { return kShoff + i * sizeof(Elf64_Shdr); }

  static Elf64_Phdr load(std::uint64_t offset, std::uint64_t addr, std::uint64_t file_bytes, std::uint64_t memory,
                         Elf64_Word flags) {
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = flags;
    ph.p_offset = offset;
    ph.p_vaddr = ph.p_paddr = addr;
    ph.p_filesz = file_bytes;
    ph.p_memsz = memory;
    ph.p_align = 0x1000;
    return ph;
  }

  static Elf64_Sym symbol(Elf64_Word name, unsigned char bind, unsigned char type, std::uint64_t value,
                          std::uint64_t size, Elf64_Section section = SHN_ABS) {
    Elf64_Sym sym{};
    sym.st_name = name;
    sym.st_info = static_cast<unsigned char>(ELF64_ST_INFO(bind, type));
    sym.st_shndx = section;
    sym.st_value = value;
    sym.st_size = size;
    return sym;
  }

  template <typename Record, typename Change>
  void patch(std::uint64_t offset, Change change) {
    auto record = get<Record>(bytes, offset);
    change(record);
    put(bytes, offset, record);
  }
  template <typename Change>
  void patch_header(Change change) { patch<Elf64_Ehdr>(0, change); }
  template <typename Change>
  void patch_phdr(unsigned i, Change change) { patch<Elf64_Phdr>(phdr_offset(i), change); }

  std::string write(const std::string& name = "fw.elf") const { return write_file(name, bytes); }
};

// Loading `path` throws a UserError that starts with the path and says `problem`.
void expect_load_error(const std::string& path, const std::string& problem) {
  const std::string message = error_of([&] { load_guest_elf(path); });
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << "expected \"" << problem << "\" in: " << message;
}

TEST(ElfLoader, ReadsEveryField) {
  const TestElf elf;
  const std::string path = elf.write();
  const GuestImage image = load_guest_elf(path);
  EXPECT_EQ(image.path, path);
  EXPECT_EQ(image.entry, TestElf::kCodeAddr);
  EXPECT_EQ(image.phdr_addr, TestElf::kCodeBase + TestElf::kPhoff);  // no PT_PHDR: segment 0 loads them
  EXPECT_EQ(image.phnum, 3);
  EXPECT_EQ(image.phentsize, 56);

  ASSERT_EQ(image.segments.size(), 2u);  // the PT_GNU_STACK between them is no segment
  const GuestSegment& code = image.segments[0];
  EXPECT_EQ(code.addr, TestElf::kCodeBase);
  EXPECT_EQ(code.bytes, std::vector<std::uint8_t>(elf.bytes.begin(), elf.bytes.begin() + TestElf::kDataOffset));
  EXPECT_EQ(code.mem_bytes, 0x128u);
  EXPECT_TRUE(code.executable);
  EXPECT_FALSE(code.writable);
  const GuestSegment& data = image.segments[1];
  EXPECT_EQ(data.addr, TestElf::kDataBase);
  std::vector<std::uint8_t> data_bytes;
  for (unsigned i = 0; i < 0x20; ++i) data_bytes.push_back(static_cast<std::uint8_t>(0xd0 + i));
  EXPECT_EQ(data.bytes, data_bytes);
  EXPECT_EQ(data.mem_bytes, 0x100u);
  EXPECT_FALSE(data.executable);
  EXPECT_TRUE(data.writable);
  EXPECT_EQ(image.lowest(), 0x80000000u);
  EXPECT_EQ(image.highest(), 0x80001100u);

  // Sorted by address; at main's address the global name before the local alias; the object,
  // the undefined and the size-0 function left out; the C++ name demangled.
  ASSERT_EQ(image.functions.size(), 4u);
  const std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> expected = {
      {TestElf::kCodeAddr, 0x10, "_start"},
      {TestElf::kBringupAddr, 0x20, "cestvp::fw::run_bringup(cestvp::fw::Hal&)"},
      {TestElf::kMainAddr, 0x10, "main"},
      {TestElf::kMainAddr, 0x10, "__GI_main"},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(image.functions[i].addr, std::get<0>(expected[i])) << i;
    EXPECT_EQ(image.functions[i].size, std::get<1>(expected[i])) << i;
    EXPECT_EQ(image.functions[i].name, std::get<2>(expected[i])) << i;
  }
}

TEST(ElfLoader, FunctionAtStartMiddleAndOutside) {
  const GuestImage image = load_guest_elf(TestElf().write());
  EXPECT_EQ(image.function_at(0x800000e8), "_start+0x0");
  EXPECT_EQ(image.function_at(0x800000f7), "_start+0xf");
  EXPECT_EQ(image.function_at(0x800000f8), "cestvp::fw::run_bringup(cestvp::fw::Hal&)+0x0");
  EXPECT_EQ(image.function_at(0x80000104), "cestvp::fw::run_bringup(cestvp::fw::Hal&)+0xc");
  EXPECT_EQ(image.function_at(0x80000118), "main+0x0");
  EXPECT_EQ(image.function_at(0x80000127), "main+0xf");
  EXPECT_EQ(image.function_at(0x80000128), "");  // one past main
  EXPECT_EQ(image.function_at(0x800000e7), "");  // one before _start (the headers)
  EXPECT_EQ(image.function_at(0), "");
  EXPECT_EQ(image.function_at(~std::uint64_t{0}), "");

  EXPECT_EQ(image.address_of("cestvp::fw::run_bringup"), std::optional<std::uint64_t>(0x800000f8));
  EXPECT_EQ(image.address_of("main"), std::optional<std::uint64_t>(0x80000118));
  EXPECT_EQ(image.address_of("_st"), std::optional<std::uint64_t>(0x800000e8));
  EXPECT_EQ(image.address_of("cestvp::fw::run_bringup(int)"), std::nullopt);
  EXPECT_EQ(image.address_of("puts"), std::nullopt);  // undefined
}

TEST(ElfLoader, FunctionAtFindsTheEnclosingFunctionPastANestedOne) {
  GuestImage image;
  image.functions = {{0x100, 0x100, "outer"}, {0x150, 0x10, "inner"}, {0x300, 0x10, "after_gap"}};
  EXPECT_EQ(image.function_at(0x155), "inner+0x5");
  EXPECT_EQ(image.function_at(0x180), "outer+0x80");
  EXPECT_EQ(image.function_at(0x1ff), "outer+0xff");
  EXPECT_EQ(image.function_at(0x200), "");
  EXPECT_EQ(image.function_at(0x2ff), "");
  EXPECT_EQ(image.function_at(0x30f), "after_gap+0xf");
  EXPECT_EQ(image.lowest(), 0u);  // no segments
  EXPECT_EQ(image.highest(), 0u);
}

TEST(ElfLoader, StrippedElfHasNoFunctions) {
  TestElf elf;
  elf.patch_header([](Elf64_Ehdr& h) { h.e_shoff = 0, h.e_shnum = 0; });
  elf.bytes.resize(TestElf::kShoff);
  const GuestImage image = load_guest_elf(elf.write());
  EXPECT_TRUE(image.functions.empty());
  EXPECT_EQ(image.segments.size(), 2u);
  EXPECT_EQ(image.function_at(TestElf::kCodeAddr), "");

  // Section headers without a symbol table: the same.
  TestElf no_symtab;
  no_symtab.patch<Elf64_Shdr>(TestElf::shdr_offset(1), [](Elf64_Shdr& s) { s.sh_type = SHT_PROGBITS; });
  EXPECT_TRUE(load_guest_elf(no_symtab.write("no_symtab.elf")).functions.empty());
}

TEST(ElfLoader, PtPhdrGivesTheProgramHeaderAddress) {
  TestElf elf;
  elf.patch_phdr(1, [](Elf64_Phdr& ph) { ph.p_type = PT_PHDR, ph.p_vaddr = ph.p_paddr = 0x80000040; });
  EXPECT_EQ(load_guest_elf(elf.write()).phdr_addr, 0x80000040u);
  // Headers no segment loads: 0 (the start-up code then finds them itself).
  TestElf unloaded;
  unloaded.patch_phdr(0, [](Elf64_Phdr& ph) {
    ph.p_offset = TestElf::kCodeOffset, ph.p_filesz = ph.p_memsz = TestElf::kCodeBytes;
    ph.p_vaddr = ph.p_paddr = TestElf::kCodeAddr;
  });
  EXPECT_EQ(load_guest_elf(unloaded.write("unloaded.elf")).phdr_addr, 0u);
}

TEST(ElfLoader, MissingAndEmptyFiles) {
  const std::string missing = (test_dir() / "missing.elf").string();
  expect_load_error(missing, "no such file or directory");
  expect_load_error(write_file("empty.elf", ""), "empty file (0 bytes)");
  expect_load_error(test_dir().string(), "directory");
}

TEST(ElfLoader, TruncatedFilesSayWhichPartIsCut) {
  const TestElf elf;
  const std::vector<std::pair<std::uint64_t, std::string>> cuts = {
      {2, "truncated at 2 bytes, short of the 64-byte ELF64 header"},
      {40, "truncated at 40 bytes, short of the 64-byte ELF64 header"},
      {63, "truncated at 63 bytes, short of the 64-byte ELF64 header"},
      {64, "truncated at 64 bytes, short of the 3 program headers: 3 x 56 bytes from file offset 0x40"},
      {0x40 + 100, "truncated at 164 bytes, short of the 3 program headers: 3 x 56 bytes from file offset 0x40"},
      {0x40 + 167, "truncated at 231 bytes, short of the 3 program headers"},  // one byte short
      {0x100, "truncated at 256 bytes, short of the bytes of PT_LOAD segment 0 (program header 0): 296 bytes from file "
              "offset 0x0"},
      {0x130, "truncated at 304 bytes, short of the bytes of PT_LOAD segment 1 (program header 2): 32 bytes from file "
              "offset 0x128"},
      {0x147, "truncated at 327 bytes, short of the bytes of PT_LOAD segment 1 (program header 2)"},
      {0x148, "truncated at 328 bytes, short of the 3 section headers: 3 x 64 bytes from file offset 0x148"},
      {0x200, "truncated at 512 bytes, short of the 3 section headers"},
      {0x210, "truncated at 528 bytes, short of the symbol table (section 1): 8 x 24 bytes from file offset 0x208"},
      {0x2d0, "truncated at 720 bytes, short of the string table (section 2): "},
      {elf.bytes.size() - 1, "short of the string table (section 2): " + std::to_string(elf.bytes.size() - 0x2c8) +
                                 " bytes from file offset 0x2c8"},
  };
  for (const auto& [size, problem] : cuts) {
    SCOPED_TRACE(size);
    ASSERT_LT(size, elf.bytes.size());
    const std::string path = write_file("cut_" + std::to_string(size) + ".elf",
                                        std::vector<unsigned char>(elf.bytes.begin(), elf.bytes.begin() + size));
    expect_load_error(path, problem);
  }
}

TEST(ElfLoader, WrongKindsOfFile) {
  const auto variant = [](const std::string& name, auto change) {
    TestElf elf;
    change(elf);
    return elf.write(name);
  };
  expect_load_error(variant("magic.elf", [](TestElf& e) { e.bytes[3] = 'G'; }),
                    "not an ELF file (starts with 7f 45 4c 47 02 01 01 00..., not 7f 45 4c 46); expected the RISC-V "
                    "firmware ELF built by the project (build/firmware/rv64/cestvp-fw.elf)");
  expect_load_error(write_file("script.sh", "#!/bin"), "not an ELF file (starts with 23 21 2f 62 69 6e, not ");
  expect_load_error(write_file("short_text", "ab"), "not an ELF file (starts with 61 62, not ");
  expect_load_error(variant("class32.elf", [](TestElf& e) { e.bytes[EI_CLASS] = ELFCLASS32; }),
                    "a 32-bit ELF (ELFCLASS32); expected a 64-bit one (ELFCLASS64) for RV64: the RISC-V firmware ELF "
                    "built by the project (build/firmware/rv64/cestvp-fw.elf)");
  // An ELF32 header is 52 bytes: the class is named, not a truncated 64-bit header.
  expect_load_error(write_file("class32_short.elf", std::string("\x7f" "ELF\x01\x01\x01", 7) + std::string(45, '\0')),
                    "a 32-bit ELF (ELFCLASS32)");
  expect_load_error(variant("big.elf", [](TestElf& e) { e.bytes[EI_DATA] = ELFDATA2MSB; }),
                    "a big-endian ELF (ELFDATA2MSB); expected little-endian (ELFDATA2LSB)");
  expect_load_error(variant("x86.elf", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_machine = EM_X86_64; }); }),
                    "an ELF for x86-64 (e_machine 62); expected RISC-V (e_machine 243, EM_RISCV)");
  expect_load_error(variant("arm.elf", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_machine = EM_AARCH64; }); }),
                    "an ELF for AArch64 (e_machine 183)");
  expect_load_error(variant("pie.elf", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_type = ET_DYN; }); }),
                    "a position-independent executable or shared library (ET_DYN); expected a static non-PIE executable");
  expect_load_error(variant("obj.o", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_type = ET_REL; }); }),
                    "an object file (ET_REL), not linked");
}

TEST(ElfLoader, BadSegments) {
  const auto variant = [](const std::string& name, auto change) {
    TestElf elf;
    change(elf);
    return elf.write(name);
  };
  expect_load_error(variant("no_load.elf",
                            [](TestElf& e) {
                              e.patch_phdr(0, [](Elf64_Phdr& ph) { ph.p_type = PT_NOTE; });
                              e.patch_phdr(2, [](Elf64_Phdr& ph) { ph.p_type = PT_NOTE; });
                            }),
                    "no PT_LOAD segments (nothing to load)");
  expect_load_error(variant("no_phdrs.elf", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_phnum = 0; }); }),
                    "no PT_LOAD segments");
  expect_load_error(variant("filesz.elf", [](TestElf& e) { e.patch_phdr(2, [](Elf64_Phdr& ph) { ph.p_filesz = 0x200; }); }),
                    "PT_LOAD segment 1 (program header 2): p_filesz 0x200 exceeds p_memsz 0x100; expected p_filesz "
                    "<= p_memsz");
  expect_load_error(
      variant("wrap.elf", [](TestElf& e) { e.patch_phdr(2, [](Elf64_Phdr& ph) { ph.p_paddr = ph.p_vaddr = ~0xffull; }); }),
      "PT_LOAD segment 1 (program header 2) at 0xffffffffffffff00 (p_paddr; p_vaddr 0xffffffffffffff00) with p_memsz "
      "0x100 ends past the 64-bit address space");
  expect_load_error(
      variant("overlap.elf", [](TestElf& e) { e.patch_phdr(2, [](Elf64_Phdr& ph) { ph.p_paddr = ph.p_vaddr = 0x80000100; }); }),
      "PT_LOAD segments 0 [0x80000000,0x80000128) and 1 [0x80000100,0x80000200) overlap in memory");
  expect_load_error(
      variant("entry.elf", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_entry = TestElf::kDataBase; }); }),
      "entry point 0x80001000 (e_entry) lies in no executable PT_LOAD segment");
  expect_load_error(variant("phentsize.elf", [](TestElf& e) { e.patch_header([](Elf64_Ehdr& h) { h.e_phentsize = 32; }); }),
                    "program header entry size 32 bytes (e_phentsize); expected 56 (Elf64_Phdr)");
}

TEST(ElfLoader, BadSymbolTable) {
  TestElf name;
  name.patch<Elf64_Sym>(TestElf::kSymtabOffset + 2 * sizeof(Elf64_Sym), [](Elf64_Sym& s) { s.st_name = 5000; });
  expect_load_error(name.write("name.elf"), "symbol 2's name (offset 5000) lies outside its string table (");
  TestElf link;
  link.patch<Elf64_Shdr>(TestElf::shdr_offset(1), [](Elf64_Shdr& s) { s.sh_link = 7; });
  expect_load_error(link.write("link.elf"),
                    "the symbol table (section 1) names section 7 as its string table (sh_link), of 3 sections");
  TestElf entsize;
  entsize.patch<Elf64_Shdr>(TestElf::shdr_offset(1), [](Elf64_Shdr& s) { s.sh_entsize = 16; });
  expect_load_error(entsize.write("entsize.elf"),
                    "the symbol table (section 1) has entries of 16 bytes (sh_entsize); expected 24");
  // The last name's NUL cut off: the name would run past the table.
  TestElf nul;
  nul.patch<Elf64_Shdr>(TestElf::shdr_offset(2), [](Elf64_Shdr& s) { s.sh_size -= 1; });
  nul.patch<Elf64_Sym>(TestElf::kSymtabOffset + 7 * sizeof(Elf64_Sym), [](Elf64_Sym& s) { s.st_size = 4; });  // no_size
  expect_load_error(nul.write("nul.elf"), "symbol 7's name (offset ");
}

GuestImage placed_image() { return load_guest_elf(TestElf().write()); }

TEST(GuestPlacement, FitsAndTouchingRegionsAreFine) {
  const GuestImage image = placed_image();
  check_guest_placement(image, {"host_ram", 0x80000000, 16u << 20}, {{"sat_regs", 0x80001100, 0x100}});
  check_guest_placement(image, {"host_ram", 0x80000000, 0x1100}, {{"below", 0x7ffff000, 0x1000}});
}

TEST(GuestPlacement, SegmentOutsideRamOrOverlappingARegion) {
  const GuestImage image = placed_image();
  const std::string exceeds = error_of([&] { check_guest_placement(image, {"host_ram", 0x80000000, 0x1080}, {}); });
  EXPECT_EQ(exceeds, image.path + ": PT_LOAD segment 1 [0x80001000,0x80001100) (data) exceeds host RAM "
                                  "[0x80000000,0x80001080) (host.ram in the platform YAML); expected the firmware "
                                  "linked for host RAM (its linker script and host.ram must agree)");
  const std::string outside = error_of([&] { check_guest_placement(image, {"host_ram", 0x90000000, 0x1000000}, {}); });
  EXPECT_EQ(outside.rfind(image.path + ": PT_LOAD segment 0 [0x80000000,0x80000128) (code) lies outside host RAM "
                                       "[0x90000000,0x91000000)", 0),
            0u)
      << outside;
  const std::string overlap = error_of([&] {
    check_guest_placement(image, {"host_ram", 0x80000000, 16u << 20},
                          {{"ddr", 0, 0x1000}, {"sat_regs", 0x800010ff, 0x100}});
  });
  EXPECT_EQ(overlap, image.path + ": PT_LOAD segment 1 [0x80001000,0x80001100) (data) overlaps sat_regs "
                                  "[0x800010ff,0x800011ff); expected the firmware only in host RAM, clear of the "
                                  "platform's other regions");
  // RAM at the very top of the address space: no end computed that wraps.
  check_guest_placement(image, {"host_ram", 0x80000000, ~std::uint64_t{0} - 0x80000000}, {});
}

// --- A real static program, checked against binutils ---

std::string output_of(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return output;
  }
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command << "\n" << output;
  return output;
}

// The value after "Label:" in readelf -h output.
std::string readelf_field(const std::string& text, const std::string& label) {
  const std::size_t at = text.find(label + ":");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << label << " in readelf output";
    return "0";
  }
  std::istringstream line(text.substr(at + label.size() + 1));
  std::string value;
  line >> value;
  return value;
}

struct ReadelfLoad {
  std::uint64_t offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0;
  std::string flags;
};

TEST(ElfLoader, MatchesBinutilsOnCrossCompiledProgram) {
  const std::string cross = "/usr/bin/riscv64-linux-gnu-g++";
  if (!fs::exists(cross)) GTEST_SKIP() << cross << " is not installed (Debian's g++-riscv64-linux-gnu)";
  const fs::path dir = test_dir();
  const std::string source = write_file("prog.cpp",
                                        "namespace cestvp::fw {\n"
                                        "__attribute__((noinline)) int run_bringup(int steps) {\n"
                                        "  int sum = 0;\n"
                                        "  for (int i = 0; i < steps; ++i) sum += i * i;\n"
                                        "  return sum;\n"
                                        "}\n"
                                        "}  // namespace cestvp::fw\n"
                                        "int main(int argc, char**) { return cestvp::fw::run_bringup(argc) == 1234; }\n");
  const std::string program = (dir / "prog.elf").string();
  output_of(cross + " -std=c++17 -O1 -static -o '" + program + "' '" + source + "' 2>&1");
  const std::string headers = output_of("/usr/bin/riscv64-linux-gnu-readelf -h -l -W '" + program + "'");
  const std::string symbols = output_of("/usr/bin/riscv64-linux-gnu-nm -S -C '" + program + "'");

  const GuestImage image = load_guest_elf(program);
  EXPECT_EQ(image.entry, std::stoull(readelf_field(headers, "Entry point address"), nullptr, 16));
  const std::uint64_t phoff = std::stoull(readelf_field(headers, "Start of program headers"));
  EXPECT_EQ(image.phnum, std::stoul(readelf_field(headers, "Number of program headers")));
  EXPECT_EQ(image.phentsize, std::stoul(readelf_field(headers, "Size of program headers")));

  // "  LOAD 0x000000 0x0000000000010000 0x0000000000010000 0x060364 0x060364 R E 0x1000"
  std::vector<ReadelfLoad> loads;
  std::istringstream lines(headers);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string type;
    fields >> type;
    if (type != "LOAD") continue;
    ReadelfLoad load;
    std::string offset, vaddr, paddr, filesz, memsz;
    fields >> offset >> vaddr >> paddr >> filesz >> memsz;
    load.offset = std::stoull(offset, nullptr, 16), load.vaddr = std::stoull(vaddr, nullptr, 16);
    load.paddr = std::stoull(paddr, nullptr, 16), load.filesz = std::stoull(filesz, nullptr, 16);
    load.memsz = std::stoull(memsz, nullptr, 16);
    std::vector<std::string> rest;
    for (std::string word; fields >> word;) rest.push_back(word);
    for (std::size_t i = 0; i + 1 < rest.size(); ++i) load.flags += rest[i];  // the last is the alignment
    loads.push_back(load);
  }
  ASSERT_GE(loads.size(), 2u);
  ASSERT_EQ(image.segments.size(), loads.size());

  std::ifstream in(program, std::ios::binary);
  const std::vector<unsigned char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t low = ~std::uint64_t{0}, high = 0;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    SCOPED_TRACE(i);
    const GuestSegment& segment = image.segments[i];
    EXPECT_EQ(segment.addr, loads[i].paddr);
    EXPECT_EQ(segment.mem_bytes, loads[i].memsz);
    EXPECT_EQ(segment.executable, loads[i].flags.find('E') != std::string::npos);
    EXPECT_EQ(segment.writable, loads[i].flags.find('W') != std::string::npos);
    ASSERT_LE(loads[i].offset + loads[i].filesz, file.size());
    EXPECT_TRUE(segment.bytes == std::vector<std::uint8_t>(file.begin() + loads[i].offset,
                                                           file.begin() + loads[i].offset + loads[i].filesz));
    if (loads[i].offset == 0) {
      EXPECT_EQ(image.phdr_addr, loads[i].paddr + phoff);  // static: no PT_PHDR
    }
    low = std::min(low, loads[i].paddr), high = std::max(high, loads[i].paddr + loads[i].memsz);
  }
  EXPECT_EQ(loads[0].offset, 0u);
  EXPECT_EQ(image.lowest(), low);
  EXPECT_EQ(image.highest(), high);

  // "0000000000010632 0000000000000010 T main"; nm demangles independently (-C).
  std::uint64_t main_addr = 0, main_size = 0, bringup_addr = 0;
  std::istringstream nm_lines(symbols);
  for (std::string line; std::getline(nm_lines, line);) {
    std::istringstream fields(line);
    std::string addr, size, type, name;
    if (!(fields >> addr >> size >> type) || !std::getline(fields >> std::ws, name)) continue;
    if (name == "main" && type == "T") main_addr = std::stoull(addr, nullptr, 16), main_size = std::stoull(size, nullptr, 16);
    if (name == "cestvp::fw::run_bringup(int)") bringup_addr = std::stoull(addr, nullptr, 16);
  }
  ASSERT_NE(main_addr, 0u);
  ASSERT_NE(main_size, 0u);
  ASSERT_NE(bringup_addr, 0u);
  char last[32];
  std::snprintf(last, sizeof last, "main+0x%llx", static_cast<unsigned long long>(main_size - 1));
  EXPECT_EQ(image.function_at(main_addr), "main+0x0");
  EXPECT_EQ(image.function_at(main_addr + main_size - 1), last);
  EXPECT_EQ(image.address_of("main("), std::nullopt);  // a C name: no parameter list
  EXPECT_EQ(image.address_of("cestvp::fw::run_bringup("), std::optional<std::uint64_t>(bringup_addr));
  EXPECT_EQ(image.function_at(bringup_addr + 2), "cestvp::fw::run_bringup(int)+0x2");
  EXPECT_GT(image.functions.size(), 100u);  // libc's functions too
  check_guest_placement(image, {"host_ram", 0, std::uint64_t{1} << 32}, {});
}

}  // namespace
}  // namespace cestvp
