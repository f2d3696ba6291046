#include "loader/elf_loader.h"

#include <cxxabi.h>
#include <elf.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>

#include "config/input_file.h"
#include "config/user_error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elf_loader.cpp reads the little-endian ELF records as they are in memory"
#endif

namespace cestvp {
namespace {

const std::string kFirmwareElf =
    "the RISC-V firmware ELF built by the project (build/firmware/rv64/cestvp-fw.elf)";
const std::string kWholeFile = "the whole file as the linker wrote it (build/firmware/rv64/cestvp-fw.elf)";

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%" PRIx64, value);
  return text;
}

// "[0x80000000,0x80001000)"; callers have checked that base + size does not wrap.
std::string range_text(std::uint64_t base, std::uint64_t size) { return "[" + hex(base) + "," + hex(base + size) + ")"; }

// The first bytes of a file that is not an ELF, as hex: "23 21 2f 62 69 6e 2f 73...".
std::string leading_bytes(const std::vector<unsigned char>& bytes) {
  constexpr std::size_t kShown = 8;
  std::string text;
  for (std::size_t i = 0; i < std::min(bytes.size(), kShown); ++i) {
    char byte[4];
    std::snprintf(byte, sizeof byte, "%s%02x", i ? " " : "", bytes[i]);
    text += byte;
  }
  return text + (bytes.size() > kShown ? "..." : "");
}

// Names for the e_machine values a wrong file is most likely to carry.
std::string machine_name(unsigned machine) {
  switch (machine) {
    case EM_NONE: return "no machine";
    case EM_386: return "32-bit x86";
    case EM_X86_64: return "x86-64";
    case EM_ARM: return "32-bit ARM";
    case EM_AARCH64: return "AArch64";
    case EM_MIPS: return "MIPS";
    case EM_PPC: return "32-bit PowerPC";
    case EM_PPC64: return "64-bit PowerPC";
    case EM_S390: return "IBM S/390";
    case EM_SPARCV9: return "SPARC V9";
    case EM_LOONGARCH: return "LoongArch";
    case EM_BPF: return "BPF";
    default: return "machine " + std::to_string(machine);
  }
}

// Only mangled names go to the demangler: it also reads plain names such as "i" or "f" as
// types ("int", "float").
std::string demangled(const std::string& name) {
  if (name.compare(0, 2, "_Z") != 0) return name;
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status),
                                                         &std::free);
  return status == 0 && text ? std::string(text.get()) : name;
}

// Of several names for one address, the one a person looks for: exported names before weak
// ones before file-local ones (static glibc turns its hidden aliases such as __GI_memcpy into
// locals).
int binding_rank(unsigned char info) {
  switch (ELF64_ST_BIND(info)) {
    case STB_GLOBAL: return 0;
    case STB_WEAK: return 1;
    case STB_LOCAL: return 2;
    default: return 3;
  }
}

template <typename Record>
Record record_at(const unsigned char* at) {
  Record record;
  std::memcpy(&record, at, sizeof record);  // the file's records need not be aligned in memory
  return record;
}

class ElfReader {
 public:
  ElfReader(const std::string& path, std::vector<unsigned char> bytes) : path_(path), bytes_(std::move(bytes)) {}

  GuestImage read() const {
    GuestImage image;
    image.path = path_;
    const Elf64_Ehdr header = read_header();
    image.entry = header.e_entry;
    read_segments(header, image);
    read_functions(header, image);
    return image;
  }

 private:
  [[noreturn]] void fail(const std::string& problem, const std::string& expected = kFirmwareElf) const {
    throw UserError(path_ + ": " + problem + "; expected " + expected);
  }

  // `count` records of `entry_size` bytes at file offset `offset`, all inside the file, or a
  // UserError that `what` is cut short.
  const unsigned char* span(std::uint64_t offset, std::uint64_t count, std::uint64_t entry_size,
                            const std::string& what) const {
    const std::uint64_t file_size = bytes_.size();
    std::uint64_t size = 0;
    if (__builtin_mul_overflow(count, entry_size, &size) || offset > file_size || size > file_size - offset) {
      const std::string size_text = entry_size == 1 ? std::to_string(count) + " bytes"
                                                    : std::to_string(count) + " x " + std::to_string(entry_size) + " bytes";
      fail("truncated at " + std::to_string(file_size) + " bytes, short of " + what + ": " + size_text +
               " from file offset " + hex(offset),
           kWholeFile);
    }
    return bytes_.data() + offset;
  }

  Elf64_Ehdr read_header() const {
    const std::size_t size = bytes_.size();
    if (size == 0) fail("empty file (0 bytes)");
    // What the file is comes before whether it is complete: a 52-byte ELF32 header is a 32-bit
    // ELF, not a truncated 64-bit one.
    static const unsigned char kMagic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
    if (std::memcmp(bytes_.data(), kMagic, std::min<std::size_t>(size, SELFMAG)) != 0)
      fail("not an ELF file (starts with " + leading_bytes(bytes_) + ", not 7f 45 4c 46)");
    if (size > EI_CLASS && bytes_[EI_CLASS] != ELFCLASS64) {
      if (bytes_[EI_CLASS] == ELFCLASS32)
        fail("a 32-bit ELF (ELFCLASS32)", "a 64-bit one (ELFCLASS64) for RV64: " + kFirmwareElf);
      fail("an ELF of unknown class " + std::to_string(bytes_[EI_CLASS]), "ELFCLASS64 (2): " + kFirmwareElf);
    }
    if (size > EI_DATA && bytes_[EI_DATA] != ELFDATA2LSB) {
      if (bytes_[EI_DATA] == ELFDATA2MSB)
        fail("a big-endian ELF (ELFDATA2MSB)", "little-endian (ELFDATA2LSB), as RISC-V is: " + kFirmwareElf);
      fail("an ELF of unknown byte order " + std::to_string(bytes_[EI_DATA]), "ELFDATA2LSB (1): " + kFirmwareElf);
    }
    if (size < sizeof(Elf64_Ehdr))
      fail("truncated at " + std::to_string(size) + " bytes, short of the " + std::to_string(sizeof(Elf64_Ehdr)) +
               "-byte ELF64 header",
           kWholeFile);
    const auto header = record_at<Elf64_Ehdr>(bytes_.data());
    if (header.e_machine != EM_RISCV)
      fail("an ELF for " + machine_name(header.e_machine) + " (e_machine " + std::to_string(header.e_machine) + ")",
           "RISC-V (e_machine 243, EM_RISCV): " + kFirmwareElf);
    switch (header.e_type) {
      case ET_EXEC: break;
      case ET_DYN:
        fail("a position-independent executable or shared library (ET_DYN)",
             "a static non-PIE executable (ET_EXEC; link with -static, not -static-pie or -shared): " + kFirmwareElf);
      case ET_REL: fail("an object file (ET_REL), not linked", "an executable (ET_EXEC): " + kFirmwareElf);
      case ET_CORE: fail("a core dump (ET_CORE)", "an executable (ET_EXEC): " + kFirmwareElf);
      default: fail("an ELF of type " + std::to_string(header.e_type), "an executable (ET_EXEC): " + kFirmwareElf);
    }
    if (header.e_phnum == PN_XNUM)
      fail("extended program header numbering (e_phnum 0xffff)", "fewer than 65535 program headers: " + kFirmwareElf);
    if (header.e_phnum != 0 && header.e_phentsize != sizeof(Elf64_Phdr))
      fail("program header entry size " + std::to_string(header.e_phentsize) + " bytes (e_phentsize)",
           std::to_string(sizeof(Elf64_Phdr)) + " (Elf64_Phdr): " + kFirmwareElf);
    return header;
  }

  void read_segments(const Elf64_Ehdr& header, GuestImage& image) const {
    const unsigned char* table = span(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr),
                                      "the " + std::to_string(header.e_phnum) + " program headers");
    image.phnum = header.e_phnum;
    image.phentsize = header.e_phentsize;
    const std::uint64_t headers_bytes = std::uint64_t{header.e_phnum} * sizeof(Elf64_Phdr);
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    std::optional<std::uint64_t> pt_phdr, loaded_phdr;
    bool entry_in_code = false;
    for (unsigned i = 0; i < header.e_phnum; ++i) {
      const auto ph = record_at<Elf64_Phdr>(table + std::size_t{i} * sizeof(Elf64_Phdr));
      if (ph.p_type == PT_PHDR) pt_phdr = ph.p_paddr;
      if (ph.p_type != PT_LOAD) continue;
      const std::string name =
          "PT_LOAD segment " + std::to_string(image.segments.size()) + " (program header " + std::to_string(i) + ")";
      if (ph.p_filesz > ph.p_memsz)
        fail(name + ": p_filesz " + hex(ph.p_filesz) + " exceeds p_memsz " + hex(ph.p_memsz),
             "p_filesz <= p_memsz (the memory past the file's bytes is zero-filled): " + kFirmwareElf);
      if (ph.p_memsz > kMax - ph.p_paddr || ph.p_memsz > kMax - ph.p_vaddr)
        fail(name + " at " + hex(ph.p_paddr) + " (p_paddr; p_vaddr " + hex(ph.p_vaddr) + ") with p_memsz " +
                 hex(ph.p_memsz) + " ends past the 64-bit address space",
             kFirmwareElf);
      GuestSegment segment;
      segment.addr = ph.p_paddr;
      if (ph.p_filesz != 0) {
        const unsigned char* bytes = span(ph.p_offset, ph.p_filesz, 1, "the bytes of " + name);
        segment.bytes.assign(bytes, bytes + ph.p_filesz);
      }
      segment.mem_bytes = ph.p_memsz;
      segment.executable = (ph.p_flags & PF_X) != 0;
      segment.writable = (ph.p_flags & PF_W) != 0;
      // The entry is an address the program runs at: compare it with p_vaddr.
      if (segment.executable && header.e_entry - ph.p_vaddr < ph.p_memsz) entry_in_code = true;
      // Static ELFs load their program headers as part of the first segment's file bytes.
      const std::uint64_t into = header.e_phoff - ph.p_offset;
      if (!loaded_phdr && header.e_phoff >= ph.p_offset && into <= ph.p_filesz && headers_bytes <= ph.p_filesz - into)
        loaded_phdr = ph.p_paddr + into;
      image.segments.push_back(std::move(segment));
    }
    if (image.segments.empty()) fail("no PT_LOAD segments (nothing to load)");
    image.phdr_addr = pt_phdr ? *pt_phdr : loaded_phdr.value_or(0);

    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < image.segments.size(); ++i)
      if (image.segments[i].mem_bytes != 0) order.push_back(i);
    if (order.empty()) fail("no PT_LOAD segment has memory (every p_memsz is 0)");
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return image.segments[a].addr < image.segments[b].addr; });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const GuestSegment& low = image.segments[order[k - 1]];
      const GuestSegment& high = image.segments[order[k]];
      if (high.addr - low.addr < low.mem_bytes)
        fail("PT_LOAD segments " + std::to_string(order[k - 1]) + " " + range_text(low.addr, low.mem_bytes) + " and " +
                 std::to_string(order[k]) + " " + range_text(high.addr, high.mem_bytes) + " overlap in memory",
             "segments that occupy distinct memory: " + kFirmwareElf);
    }
    if (!entry_in_code)
      fail("entry point " + hex(header.e_entry) + " (e_entry) lies in no executable PT_LOAD segment",
           "the entry point in the program's code: " + kFirmwareElf);
  }

  // The function symbols of the first symbol table; none when the ELF has no section headers
  // or was stripped.
  void read_functions(const Elf64_Ehdr& header, GuestImage& image) const {
    if (header.e_shoff == 0) return;
    if (header.e_shentsize != sizeof(Elf64_Shdr))
      fail("section header entry size " + std::to_string(header.e_shentsize) + " bytes (e_shentsize)",
           std::to_string(sizeof(Elf64_Shdr)) + " (Elf64_Shdr): " + kFirmwareElf);
    std::uint64_t count = header.e_shnum;
    if (count == 0) {  // 0xff00 sections or more: section 0 holds the count
      const unsigned char* first = span(header.e_shoff, 1, sizeof(Elf64_Shdr), "section header 0");
      count = record_at<Elf64_Shdr>(first).sh_size;
    }
    const unsigned char* table =
        span(header.e_shoff, count, sizeof(Elf64_Shdr), "the " + std::to_string(count) + " section headers");
    const auto section = [table](std::uint64_t i) { return record_at<Elf64_Shdr>(table + i * sizeof(Elf64_Shdr)); };
    for (std::uint64_t i = 0; i < count; ++i) {
      if (section(i).sh_type != SHT_SYMTAB) continue;
      const Elf64_Shdr symtab = section(i);
      const std::string name = "the symbol table (section " + std::to_string(i) + ")";
      if (symtab.sh_entsize != sizeof(Elf64_Sym))
        fail(name + " has entries of " + std::to_string(symtab.sh_entsize) + " bytes (sh_entsize)",
             std::to_string(sizeof(Elf64_Sym)) + " (Elf64_Sym): " + kFirmwareElf);
      if (symtab.sh_size % sizeof(Elf64_Sym) != 0)
        fail(name + " has " + std::to_string(symtab.sh_size) + " bytes, not a whole number of entries",
             "a multiple of " + std::to_string(sizeof(Elf64_Sym)) + " bytes: " + kFirmwareElf);
      if (symtab.sh_link >= count)
        fail(name + " names section " + std::to_string(symtab.sh_link) + " as its string table (sh_link), of " +
                 std::to_string(count) + " sections",
             "a section that exists: " + kFirmwareElf);
      const Elf64_Shdr strtab = section(symtab.sh_link);
      const std::string strtab_name = "the string table (section " + std::to_string(symtab.sh_link) + ")";
      if (strtab.sh_type != SHT_STRTAB)
        fail(name + "'s string table, section " + std::to_string(symtab.sh_link) + ", is of type " +
                 std::to_string(strtab.sh_type),
             "SHT_STRTAB (3): " + kFirmwareElf);
      const std::uint64_t symbol_count = symtab.sh_size / sizeof(Elf64_Sym);
      const unsigned char* symbols = span(symtab.sh_offset, symbol_count, sizeof(Elf64_Sym), name);
      const unsigned char* strings = span(strtab.sh_offset, strtab.sh_size, 1, strtab_name);
      read_symbols(symbols, symbol_count, strings, strtab.sh_size, image);
      return;
    }
  }

  void read_symbols(const unsigned char* symbols, std::uint64_t count, const unsigned char* strings,
                    std::uint64_t strings_size, GuestImage& image) const {
    std::vector<std::tuple<std::uint64_t, int, std::string, std::uint64_t>> found;  // address, rank, name, size
    for (std::uint64_t k = 0; k < count; ++k) {
      const auto symbol = record_at<Elf64_Sym>(symbols + k * sizeof(Elf64_Sym));
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_size == 0 || symbol.st_shndx == SHN_UNDEF) continue;
      if (symbol.st_name >= strings_size)
        fail("symbol " + std::to_string(k) + "'s name (offset " + std::to_string(symbol.st_name) +
                 ") lies outside its string table (" + std::to_string(strings_size) + " bytes)",
             "a symbol table whose names are in its string table: " + kFirmwareElf);
      const char* begin = reinterpret_cast<const char*>(strings) + symbol.st_name;
      const void* end = std::memchr(begin, '\0', strings_size - symbol.st_name);
      if (end == nullptr)
        fail("symbol " + std::to_string(k) + "'s name (offset " + std::to_string(symbol.st_name) +
                 ") runs to the end of its string table without a terminating NUL",
             "a string table of NUL-terminated names: " + kFirmwareElf);
      found.emplace_back(symbol.st_value, binding_rank(symbol.st_info),
                         demangled(std::string(begin, static_cast<const char*>(end))), symbol.st_size);
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    image.functions.reserve(found.size());
    for (auto& [addr, rank, name, size] : found) image.functions.push_back(GuestSymbol{addr, size, std::move(name)});
  }

  std::string path_;
  std::vector<unsigned char> bytes_;
};

// Whether [a, a + a_size) and [b, b + b_size) share a byte, without computing an end that
// could wrap.
bool overlaps(std::uint64_t a, std::uint64_t a_size, std::uint64_t b, std::uint64_t b_size) {
  return a <= b ? b - a < a_size : a - b < b_size;
}

std::string segment_kind(const GuestSegment& segment) {
  if (segment.executable) return segment.writable ? "writable code" : "code";
  return segment.writable ? "data" : "read-only data";
}

}  // namespace

GuestImage load_guest_elf(const std::string& path) {
  InputFile file(path, "the RV64 firmware ELF", kMaxGuestElfBytes);
  return ElfReader(path, file.read_all()).read();
}

void check_guest_placement(const GuestImage& image, const AddressRange& ram, const std::vector<AddressRange>& others) {
  const std::string ram_text = "host RAM " + range_text(ram.base, ram.size) + " (host.ram in the platform YAML)";
  for (std::size_t i = 0; i < image.segments.size(); ++i) {
    const GuestSegment& segment = image.segments[i];
    if (segment.mem_bytes == 0) continue;
    const std::string name = "PT_LOAD segment " + std::to_string(i) + " " + range_text(segment.addr, segment.mem_bytes) +
                             " (" + segment_kind(segment) + ")";
    const std::uint64_t into = segment.addr - ram.base;
    if (segment.addr < ram.base || into > ram.size || segment.mem_bytes > ram.size - into) {
      const bool partly = overlaps(segment.addr, segment.mem_bytes, ram.base, ram.size);
      throw UserError(image.path + ": " + name + (partly ? " exceeds " : " lies outside ") + ram_text +
                      "; expected the firmware linked for host RAM (its linker script and host.ram must agree)");
    }
    for (const AddressRange& other : others)
      if (overlaps(segment.addr, segment.mem_bytes, other.base, other.size))
        throw UserError(image.path + ": " + name + " overlaps " + other.name + " " + range_text(other.base, other.size) +
                        "; expected the firmware only in host RAM, clear of the platform's other regions");
  }
}

}  // namespace cestvp
