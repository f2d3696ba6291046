// RegisterBank (sim/reg.h): access semantics, TLM error responses, callbacks, debug access,
// reset, and time synchronisation. The bank is built from a block spec written here, not from the
// generated tables, and driven through TLM by a stimulus initiator.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "reg.h"
#include "tlm_initiator.h"

namespace {

using cestvp::Access;
using cestvp::BlockSpec;
using cestvp::RegisterBank;
using cestvp::RegSpec;
using cestvp::test::ns;
using cestvp::test::Result;
using cestvp::test::TlmInitiator;
using cestvp::test::Wait;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

// Offsets of the test block. 0x0C is a hole; the block ends at 0x18.
constexpr std::uint32_t CTRL = 0x00;     // RW
constexpr std::uint32_t ID = 0x04;       // RO
constexpr std::uint32_t CMD = 0x08;      // WO
constexpr std::uint32_t STATUS = 0x10;   // W1C
constexpr std::uint32_t SCRATCH = 0x14;  // RW

constexpr std::uint32_t CTRL_RESET = 0x00000011;
constexpr std::uint32_t ID_RESET = 0xCE570001;
constexpr std::uint32_t CMD_RESET = 0x0;
constexpr std::uint32_t STATUS_RESET = 0x000000F0;
constexpr std::uint32_t SCRATCH_RESET = 0xA5A5A5A5;

const RegSpec kRegs[] = {
    {"CTRL", CTRL, Access::RW, CTRL_RESET, "control"},
    {"ID", ID, Access::RO, ID_RESET, "identifier"},
    {"CMD", CMD, Access::WO, CMD_RESET, "command"},
    {"STATUS", STATUS, Access::W1C, STATUS_RESET, "events, write 1 to clear"},
    {"SCRATCH", SCRATCH, Access::RW, SCRATCH_RESET, "scratch"},
};
const BlockSpec kBlock{"test_block", kRegs, std::size(kRegs)};

// Minimal target exposing a RegisterBank on a TLM socket, as the peripheral models do.
class RegTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<RegTarget> socket;
  RegisterBank regs;

  explicit RegTarget(const sc_core::sc_module_name& name)
      : sc_module(name), socket("socket"), regs(kBlock) {
    socket.register_b_transport(this, &RegTarget::b_transport);
    socket.register_transport_dbg(this, &RegTarget::transport_dbg);
  }

 private:
  void b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) { regs.transport(gp, delay); }
  unsigned transport_dbg(tlm::tlm_generic_payload& gp) { return regs.transport_dbg(gp); }
};

// A target and a stimulus initiator bound to it; the body runs when run() calls sc_start().
struct Bench {
  RegTarget target{"target"};
  TlmInitiator cpu;

  explicit Bench(TlmInitiator::Body body) : cpu("cpu", std::move(body)) { cpu.socket.bind(target.socket); }
  void run() { sc_core::sc_start(); }
};

TEST(Reg, AccessToString) {
  EXPECT_STREQ(cestvp::to_string(Access::RW), "RW");
  EXPECT_STREQ(cestvp::to_string(Access::RO), "RO");
  EXPECT_STREQ(cestvp::to_string(Access::WO), "WO");
  EXPECT_STREQ(cestvp::to_string(Access::W1C), "W1C");
}

TEST(Reg, ReadsReturnResetValues) {
  std::uint32_t ctrl = 0, id = 0, status = 0, scratch = 0;
  Result r_ctrl, r_id, r_status, r_scratch;
  Bench b([&](TlmInitiator& cpu) {
    r_ctrl = cpu.read32(CTRL, ctrl);
    r_id = cpu.read32(ID, id);
    r_status = cpu.read32(STATUS, status);
    r_scratch = cpu.read32(SCRATCH, scratch);
  });
  EXPECT_EQ(&b.target.regs.spec(), &kBlock);
  b.run();
  EXPECT_TRUE(r_ctrl.ok());
  EXPECT_TRUE(r_id.ok());
  EXPECT_TRUE(r_status.ok());
  EXPECT_TRUE(r_scratch.ok());
  EXPECT_EQ(ctrl, CTRL_RESET);
  EXPECT_EQ(id, ID_RESET);
  EXPECT_EQ(status, STATUS_RESET);
  EXPECT_EQ(scratch, SCRATCH_RESET);
  EXPECT_EQ(r_ctrl.delay, SC_ZERO_TIME);  // the bank itself adds no time
  EXPECT_EQ(b.target.regs.get(CMD), CMD_RESET);
}

TEST(Reg, ReadWriteRegisterStores) {
  Result w, r;
  std::uint32_t ctrl = 0, scratch = 0;
  Bench b([&](TlmInitiator& cpu) {
    w = cpu.write32(CTRL, 0x12345678);
    r = cpu.read32(CTRL, ctrl);
    cpu.read32(SCRATCH, scratch);
  });
  b.run();
  EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(ctrl, 0x12345678u);
  EXPECT_EQ(b.target.regs.get(CTRL), 0x12345678u);
  EXPECT_EQ(scratch, SCRATCH_RESET);  // neighbour untouched
}

TEST(Reg, WriteToReadOnlyIsCommandError) {
  Result w, r;
  std::uint32_t id = 0;
  unsigned write_calls = 0;
  Bench b([&](TlmInitiator& cpu) {
    w = cpu.write32(ID, 0xFFFFFFFF);
    r = cpu.read32(ID, id);
  });
  b.target.regs.on_write(ID, [&](std::uint32_t) { ++write_calls; });
  b.run();
  EXPECT_EQ(w.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(id, ID_RESET);  // unchanged
  EXPECT_EQ(write_calls, 0u);
}

TEST(Reg, ReadOfWriteOnlyIsCommandError) {
  Result r, w;
  std::uint32_t value = 0xDEADBEEF;
  unsigned read_calls = 0;
  std::vector<std::uint32_t> written;
  Bench b([&](TlmInitiator& cpu) {
    r = cpu.read32(CMD, value);
    w = cpu.write32(CMD, 0x5);
  });
  b.target.regs.on_read(CMD, [&] { ++read_calls; return 0u; });
  b.target.regs.on_write(CMD, [&](std::uint32_t v) { written.push_back(v); });
  b.run();
  EXPECT_EQ(r.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(value, 0xDEADBEEFu);  // the initiator's buffer is not written on an error
  EXPECT_EQ(read_calls, 0u);
  EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(written, std::vector<std::uint32_t>{0x5});
}

TEST(Reg, WriteOneToClearClearsOnlyWrittenOnes) {
  std::uint32_t after1 = 0, after2 = 0, after3 = 0;
  std::vector<std::uint32_t> written;
  Bench b([&](TlmInitiator& cpu) {
    cpu.write32(STATUS, 0x00000030);  // 0xF0 & ~0x30 = 0xC0
    cpu.read32(STATUS, after1);
    cpu.write32(STATUS, 0x0000000F);  // bits that are not set: 0xC0 & ~0x0F = 0xC0
    cpu.read32(STATUS, after2);
    b.target.regs.set(STATUS, 0x000000FF);  // the model raises events
    cpu.write32(STATUS, 0x00000081);        // 0xFF & ~0x81 = 0x7E
    cpu.read32(STATUS, after3);
  });
  b.target.regs.on_write(STATUS, [&](std::uint32_t v) { written.push_back(v); });
  b.run();
  EXPECT_EQ(after1, 0x000000C0u);
  EXPECT_EQ(after2, 0x000000C0u);
  EXPECT_EQ(after3, 0x0000007Eu);
  // The callback sees the value written, not the resulting register value.
  EXPECT_EQ(written, (std::vector<std::uint32_t>{0x30, 0x0F, 0x81}));
}

TEST(Reg, WrongSizeIsBurstError) {
  std::vector<Result> results;
  std::uint64_t wide = 0x1111111122222222;
  std::uint16_t narrow = 0x3333;
  unsigned calls = 0;
  Bench b([&](TlmInitiator& cpu) {
    results.push_back(cpu.read(CTRL, &narrow, 2));
    results.push_back(cpu.write(CTRL, &narrow, 2));
    results.push_back(cpu.read(CTRL, &wide, 8));
    results.push_back(cpu.write(CTRL, &wide, 8));  // would cover CTRL and ID
  });
  b.target.regs.on_write(CTRL, [&](std::uint32_t) { ++calls; });
  b.target.regs.on_read(CTRL, [&] { ++calls; return 0u; });
  b.run();
  ASSERT_EQ(results.size(), 4u);
  for (const Result& r : results) EXPECT_EQ(r.status, tlm::TLM_BURST_ERROR_RESPONSE);
  EXPECT_EQ(narrow, 0x3333u);
  EXPECT_EQ(wide, 0x1111111122222222u);
  EXPECT_EQ(b.target.regs.get(CTRL), CTRL_RESET);
  EXPECT_EQ(b.target.regs.get(ID), ID_RESET);
  EXPECT_EQ(calls, 0u);
}

TEST(Reg, ByteEnablesAreRejected) {
  Result result;
  std::uint32_t value = 0xFFFFFFFF;
  unsigned char enables[4] = {0xFF, 0, 0xFF, 0};
  Bench b([&](TlmInitiator& cpu) {
    result = cpu.transport(tlm::TLM_WRITE_COMMAND, SCRATCH, &value, 4, SC_ZERO_TIME, Wait::yes, enables, 4);
  });
  b.run();
  EXPECT_EQ(result.status, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  EXPECT_EQ(b.target.regs.get(SCRATCH), SCRATCH_RESET);
}

TEST(Reg, MisalignedOrUnmappedIsAddressError) {
  // 0x02: inside CTRL but misaligned; 0x0C: the hole; 0x18: just past the block; 0x1000 and
  // 2^40: far outside (the latter does not fit 32 bits).
  const std::uint64_t bad[] = {0x02, 0x0C, 0x18, 0x1000, std::uint64_t{1} << 40};
  std::vector<Result> reads, writes;
  Bench b([&](TlmInitiator& cpu) {
    for (std::uint64_t a : bad) {
      std::uint32_t v = 0;
      reads.push_back(cpu.read32(a, v));
      writes.push_back(cpu.write32(a, 0xFFFFFFFF));
    }
  });
  b.run();
  ASSERT_EQ(reads.size(), std::size(bad));
  for (std::size_t i = 0; i < std::size(bad); ++i) {
    EXPECT_EQ(reads[i].status, tlm::TLM_ADDRESS_ERROR_RESPONSE) << "offset " << bad[i];
    EXPECT_EQ(writes[i].status, tlm::TLM_ADDRESS_ERROR_RESPONSE) << "offset " << bad[i];
  }
  EXPECT_EQ(b.target.regs.get(CTRL), CTRL_RESET);  // the misaligned write did not land
  EXPECT_EQ(b.target.regs.get(ID), ID_RESET);
  EXPECT_EQ(b.target.regs.get(STATUS), STATUS_RESET);
  EXPECT_EQ(b.target.regs.get(SCRATCH), SCRATCH_RESET);
}

TEST(Reg, CallbacksSeeWrittenValueOncePerAccess) {
  std::vector<std::uint32_t> ctrl_written;
  unsigned scratch_reads = 0;
  std::uint32_t ctrl = 0, scratch1 = 0, scratch2 = 0;
  Bench b([&](TlmInitiator& cpu) {
    cpu.write32(CTRL, 0xA);
    cpu.write32(CTRL, 0xB);
    cpu.read32(CTRL, ctrl);  // no read callback on CTRL: the stored value
    cpu.read32(SCRATCH, scratch1);
    cpu.read32(SCRATCH, scratch2);
  });
  b.target.regs.on_write(CTRL, [&](std::uint32_t v) {
    // Runs after the access semantics: the RW register already holds v.
    EXPECT_EQ(b.target.regs.get(CTRL), v);
    ctrl_written.push_back(v);
  });
  // A read callback computes the value; the stored value is not used.
  b.target.regs.on_read(SCRATCH, [&] { return 0x100u + ++scratch_reads; });
  b.run();
  EXPECT_EQ(ctrl_written, (std::vector<std::uint32_t>{0xA, 0xB}));
  EXPECT_EQ(ctrl, 0xBu);
  EXPECT_EQ(scratch_reads, 2u);
  EXPECT_EQ(scratch1, 0x101u);
  EXPECT_EQ(scratch2, 0x102u);
}

TEST(Reg, DebugAccessHasNoWriteSideEffects) {
  unsigned write_calls = 0, read_calls = 0;
  unsigned n_read = 0, n_write = 0, n_status = 0, n_misaligned = 0, n_hole = 0, n_size = 0;
  std::uint32_t scratch = 0, ctrl_back = 0, status_back = 0;
  Result tlm_read;
  Bench b([&](TlmInitiator& cpu) {
    n_read = cpu.debug_read(SCRATCH, &scratch, 4);
    const std::uint32_t v = 0xCAFEF00D;
    n_write = cpu.debug_write(CTRL, &v, 4);
    tlm_read = cpu.read32(CTRL, ctrl_back);
    // A debug write stores the value as is, also into a W1C register (no clearing semantics).
    const std::uint32_t s = 0x5;
    n_status = cpu.debug_write(STATUS, &s, 4);
    status_back = b.target.regs.get(STATUS);
    std::uint32_t junk = 0;
    n_misaligned = cpu.debug_read(0x2, &junk, 4);
    n_hole = cpu.debug_read(0x0C, &junk, 4);
    std::uint64_t wide = 0;
    n_size = cpu.debug_read(CTRL, &wide, 8);
  });
  b.target.regs.on_write(CTRL, [&](std::uint32_t) { ++write_calls; });
  b.target.regs.on_write(STATUS, [&](std::uint32_t) { ++write_calls; });
  b.target.regs.on_read(SCRATCH, [&] { ++read_calls; return 0x77u; });
  b.run();
  EXPECT_EQ(n_read, 4u);
  EXPECT_EQ(scratch, 0x77u);    // debug reads use the (side-effect-free) read callback
  EXPECT_EQ(read_calls, 1u);
  EXPECT_EQ(n_write, 4u);
  EXPECT_EQ(write_calls, 0u);   // debug writes never call write callbacks
  EXPECT_TRUE(tlm_read.ok());
  EXPECT_EQ(ctrl_back, 0xCAFEF00Du);
  EXPECT_EQ(n_status, 4u);
  EXPECT_EQ(status_back, 0x5u);
  EXPECT_EQ(n_misaligned, 0u);
  EXPECT_EQ(n_hole, 0u);
  EXPECT_EQ(n_size, 0u);
}

TEST(Reg, PresetAndReset) {
  std::uint32_t ctrl_after_preset = 0, ctrl_after_reset = 0, scratch_after_reset = 0,
                status_after_reset = 0;
  Bench b([&](TlmInitiator& cpu) {
    b.target.regs.preset(CTRL, 0x77);
    cpu.read32(CTRL, ctrl_after_preset);
    cpu.write32(CTRL, 0x1);
    cpu.write32(SCRATCH, 0x2);
    cpu.write32(STATUS, 0xF0);  // clears all: 0xF0 & ~0xF0 = 0
    b.target.regs.reset();
    cpu.read32(CTRL, ctrl_after_reset);
    cpu.read32(SCRATCH, scratch_after_reset);
    cpu.read32(STATUS, status_after_reset);
  });
  b.run();
  EXPECT_EQ(ctrl_after_preset, 0x77u);
  EXPECT_EQ(ctrl_after_reset, 0x77u);  // preset changed the reset value
  EXPECT_EQ(scratch_after_reset, SCRATCH_RESET);
  EXPECT_EQ(status_after_reset, STATUS_RESET);
}

TEST(Reg, SyncOnAccessConsumesAnnotatedDelay) {
  // 999 ns: a time no callback can see, so that a callback that never ran shows up.
  sc_time seen_sync_write = ns(999), seen_sync_read = ns(999), seen_plain_write = ns(999);
  Result w_sync, r_sync, w_plain;
  sc_time after_sync_write, after_plain_write;
  Bench b([&](TlmInitiator& cpu) {
    // t = 0, annotated 30 ns: the bank waits 30 ns, then the callback runs, delay becomes 0.
    w_sync = cpu.write32(CTRL, 0x1, ns(30), Wait::no);
    after_sync_write = sc_core::sc_time_stamp();  // 0 + 30 = 30 ns
    // t = 30 ns, annotated 30 ns: read callback at 30 + 30 = 60 ns.
    std::uint32_t v = 0;
    r_sync = cpu.read32(CTRL, v, ns(30), Wait::no);
    // t = 60 ns, annotated 30 ns, no sync: callback at 60 ns, delay stays 30 ns.
    w_plain = cpu.write32(SCRATCH, 0x2, ns(30), Wait::no);
    after_plain_write = sc_core::sc_time_stamp();
  });
  b.target.regs.sync_on_access(CTRL);
  b.target.regs.on_write(CTRL, [&](std::uint32_t) { seen_sync_write = sc_core::sc_time_stamp(); });
  b.target.regs.on_read(CTRL, [&] { seen_sync_read = sc_core::sc_time_stamp(); return 0u; });
  b.target.regs.on_write(SCRATCH, [&](std::uint32_t) { seen_plain_write = sc_core::sc_time_stamp(); });
  b.run();
  EXPECT_TRUE(w_sync.ok());
  EXPECT_EQ(seen_sync_write, ns(30));  // 0 + 30 ns
  EXPECT_EQ(w_sync.delay, SC_ZERO_TIME);
  EXPECT_EQ(after_sync_write, ns(30));
  EXPECT_EQ(seen_sync_read, ns(60));   // 30 + 30 ns
  EXPECT_EQ(r_sync.delay, SC_ZERO_TIME);
  EXPECT_TRUE(w_plain.ok());
  EXPECT_EQ(seen_plain_write, ns(60)); // no wait: still the thread's time, 60 ns
  EXPECT_EQ(w_plain.delay, ns(30));    // annotated delay returned unchanged
  EXPECT_EQ(after_plain_write, ns(60));
}

TEST(Reg, WithoutSyncCallbackSeesThreadTime) {
  // The brief's base case on its own: t = 0, delay 30 ns, register without sync.
  sc_time seen = ns(999);
  Result w;
  Bench b([&](TlmInitiator& cpu) { w = cpu.write32(CTRL, 0x1, ns(30), Wait::no); });
  b.target.regs.on_write(CTRL, [&](std::uint32_t) { seen = sc_core::sc_time_stamp(); });
  b.run();
  EXPECT_EQ(seen, SC_ZERO_TIME);
  EXPECT_EQ(w.delay, ns(30));
}

TEST(Reg, NameAt) {
  RegisterBank regs(kBlock);
  EXPECT_STREQ(regs.name_at(CTRL), "CTRL");
  EXPECT_STREQ(regs.name_at(ID), "ID");
  EXPECT_STREQ(regs.name_at(CMD), "CMD");
  EXPECT_STREQ(regs.name_at(STATUS), "STATUS");
  EXPECT_STREQ(regs.name_at(SCRATCH), "SCRATCH");
  EXPECT_STREQ(regs.name_at(0x05), "ID");  // a byte inside ID (0x04..0x07)
  EXPECT_EQ(regs.name_at(0x0C), nullptr);  // hole
  EXPECT_EQ(regs.name_at(0x18), nullptr);  // past the end
  EXPECT_EQ(regs.name_at(std::uint64_t{1} << 40), nullptr);
}

}  // namespace
