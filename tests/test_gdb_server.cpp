// GDB remote-serial-protocol server: a test client speaks the protocol byte by byte against a
// fake target (register array, 256 bytes of memory at 0x1000, a breakpoint set), and the real
// gdb-multiarch debugs the same fake target. Expected packets, checksums and hex are written out
// by hand. Every wait has a timeout: a broken server fails a test within seconds. serve() runs on
// a detached thread that owns what it uses, so a server that never returns cannot hang the test.
#include <array>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "rv64/gdb_server.h"

using namespace cestvp;
using Resume = GdbServer::Resume;
using boost::asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 5s;
constexpr std::uint64_t kMemBase = 0x1000;
constexpr std::size_t kMemBytes = 0x100;

// Registers 0-68 (65 does not exist), memory at [0x1000, 0x1100). Locked: the server thread
// and the test both use it.
class FakeTarget : public GdbTarget {
 public:
  FakeTarget() {
    for (std::size_t i = 0; i < kMemBytes; ++i) memory_[i] = static_cast<std::uint8_t>(i);
  }
  bool read_register(unsigned regno, std::uint64_t& value) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!exists(regno)) return false;
    value = regs_[regno];
    return true;
  }
  bool write_register(unsigned regno, std::uint64_t value) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!exists(regno)) return false;
    regs_[regno] = value;
    return true;
  }
  bool read_memory(std::uint64_t addr, std::uint8_t* dst, std::size_t bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!mapped(addr, bytes)) return false;
    std::copy_n(&memory_[addr - kMemBase], bytes, dst);
    return true;
  }
  bool write_memory(std::uint64_t addr, const std::uint8_t* src, std::size_t bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!mapped(addr, bytes)) return false;
    std::copy_n(src, bytes, &memory_[addr - kMemBase]);
    return true;
  }
  // Breakpoints only where there is memory (code).
  bool insert_breakpoint(std::uint64_t addr) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++breakpoint_calls_;
    return mapped(addr, 2) && breakpoints_.insert(addr).second;
  }
  bool remove_breakpoint(std::uint64_t addr) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++breakpoint_calls_;
    return breakpoints_.erase(addr) == 1;
  }

  std::uint64_t reg(unsigned regno) {
    std::lock_guard<std::mutex> lock(mutex_);
    return regs_.at(regno);
  }
  void set_reg(unsigned regno, std::uint64_t value) { write_register(regno, value); }
  std::uint8_t byte(std::uint64_t addr) {
    std::lock_guard<std::mutex> lock(mutex_);
    return memory_.at(addr - kMemBase);
  }
  std::set<std::uint64_t> breakpoints() {
    std::lock_guard<std::mutex> lock(mutex_);
    return breakpoints_;
  }
  int breakpoint_calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return breakpoint_calls_;
  }

  // A core for the gdb-multiarch test: "continue" runs to the next breakpoint after pc and
  // stops there, or exits with code 3 when there is none; "step" advances pc by 4.
  GdbStop run() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto next = breakpoints_.upper_bound(regs_[32]);
    if (next == breakpoints_.end()) return GdbStop::exited_with(3);
    regs_[32] = *next;
    return GdbStop::trap();
  }
  GdbStop step() {
    std::lock_guard<std::mutex> lock(mutex_);
    regs_[32] += 4;
    return GdbStop::trap();
  }

 private:
  static bool exists(unsigned regno) { return regno <= 68 && regno != 65; }
  static bool mapped(std::uint64_t addr, std::size_t bytes) {
    return addr >= kMemBase && addr - kMemBase <= kMemBytes && bytes <= kMemBytes - (addr - kMemBase);
  }

  std::mutex mutex_;
  std::array<std::uint64_t, 69> regs_{};
  std::array<std::uint8_t, kMemBytes> memory_{};
  std::set<std::uint64_t> breakpoints_;
  int breakpoint_calls_ = 0;
};

// Server and target, shared with the threads that serve.
struct Shared {
  GdbServer server{"127.0.0.1", 0};
  FakeTarget target;
};

// Runs `work` on a detached thread; the future is never one that blocks in its destructor.
template <class Work>
auto on_thread(Work work) -> std::future<decltype(work())> {
  using Result = decltype(work());
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> result = promise->get_future();
  std::thread([promise, work = std::move(work)]() mutable {
    try {
      promise->set_value(work());
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  }).detach();
  return result;
}

template <class T>
std::optional<T> within_timeout(std::future<T>& result) {
  if (result.wait_for(kTimeout) != std::future_status::ready) {
    ADD_FAILURE() << "the server did not return within " << kTimeout.count() << " s";
    return std::nullopt;
  }
  return result.get();
}

std::string checksum_hex(std::string_view payload) {
  unsigned sum = 0;
  for (char c : payload) sum += static_cast<unsigned char>(c);
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02x", sum & 0xff);
  return hex;
}

std::string frame(std::string_view payload) { return "$" + std::string(payload) + "#" + checksum_hex(payload); }

// The GDB side of the connection, every read bounded by kTimeout.
class Client {
 public:
  bool connect(std::uint16_t port) {
    boost::system::error_code result = boost::asio::error::would_block;
    socket_.async_connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port),
                          [&](const boost::system::error_code& ec) { result = ec; });
    if (!run_until_done(result) || result) return false;
    socket_.set_option(tcp::no_delay(true), result);  // an ack and the next packet go out at once
    return true;
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  void send(std::string_view bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    EXPECT_FALSE(ec) << "sending '" << bytes << "': " << ec.message();
  }
  // The next `count` bytes exactly as they arrive ("" and a failure on timeout).
  std::string receive(std::size_t count) {
    while (inbox_.size() < count)
      if (!fill()) {
        ADD_FAILURE() << "timed out after '" << inbox_ << "', waiting for " << count << " bytes";
        return "";
      }
    std::string bytes = inbox_.substr(0, count);
    inbox_.erase(0, count);
    return bytes;
  }
  // A whole "$payload#xx" frame, checked and acknowledged; returns the payload.
  std::string packet() {
    std::size_t end;
    while ((end = inbox_.find('#')) == std::string::npos || inbox_.size() < end + 3)
      if (!fill()) {
        ADD_FAILURE() << "timed out waiting for a packet; received '" << inbox_ << "'";
        return "<timeout>";
      }
    const std::string raw = receive(end + 3);
    EXPECT_EQ(raw.front(), '$') << raw;
    const std::string payload = raw.substr(1, end - 1);
    EXPECT_EQ(raw.substr(end + 1), checksum_hex(payload)) << raw;
    if (acks_) send("+");
    return payload;
  }
  // Sends a packet, expects the '+' ack, returns the reply's payload.
  std::string request(std::string_view payload) {
    send(frame(payload));
    if (acks_) {
      EXPECT_EQ(receive(1), "+") << "ack for " << payload;
    }
    return packet();
  }
  // True when the server closed the connection and sent nothing more.
  bool closed_by_server() {
    while (fill()) {
    }
    return eof_ && inbox_.empty();
  }
  bool quiet_for(std::chrono::milliseconds time) { return !fill(time) && !eof_; }
  void no_acks() { acks_ = false; }

 private:
  bool fill(std::chrono::steady_clock::duration timeout = kTimeout) {
    if (eof_) return false;
    char buffer[4096];
    std::size_t n = 0;
    boost::system::error_code result = boost::asio::error::would_block;
    socket_.async_read_some(boost::asio::buffer(buffer), [&](const boost::system::error_code& ec, std::size_t bytes) {
      result = ec;
      n = bytes;
    });
    if (!run_until_done(result, timeout)) return false;
    if (result) {
      eof_ = true;
      return false;
    }
    inbox_.append(buffer, n);
    return true;
  }
  bool run_until_done(boost::system::error_code& result, std::chrono::steady_clock::duration timeout = kTimeout) {
    io_.restart();
    io_.run_for(timeout);
    if (result != boost::asio::error::would_block) return true;
    socket_.cancel();  // let the handler run (aborted) before its locals go away
    io_.restart();
    io_.run();
    return false;
  }

  boost::asio::io_context io_;
  tcp::socket socket_{io_};
  std::string inbox_;
  bool acks_ = true;
  bool eof_ = false;
};

class GdbServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::future<int> accepted = on_thread([s = shared_] {
      s->server.accept();
      return 0;
    });
    ASSERT_TRUE(client_.connect(shared_->server.port()));
    ASSERT_TRUE(within_timeout(accepted));
  }
  // A serve() still running gets end of file and returns.
  void TearDown() override { client_.close(); }

  std::future<Resume> serve(const GdbStop& stop = GdbStop::trap()) {
    return on_thread([s = shared_, stop] { return s->server.serve(s->target, stop); });
  }
  FakeTarget& target() { return shared_->target; }
  GdbServer& server() { return shared_->server; }

  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  Client client_;
};

}  // namespace

TEST_F(GdbServerTest, FramesRepliesWithChecksumsAndHandlesAcks) {
  std::future<Resume> served = serve();
  // '?' = 0x3f; "T05" = 0x54 + 0x30 + 0x35 = 0xb9.
  client_.send("$?#3f");
  EXPECT_EQ(client_.receive(8), "+$T05#b9");
  client_.send("-");  // as if the reply arrived damaged: it is sent again
  EXPECT_EQ(client_.receive(7), "$T05#b9");
  client_.send("+");
  client_.send("$?#00");  // bad checksum
  EXPECT_EQ(client_.receive(1), "-");
  client_.send("$g#zz");  // not even hex
  EXPECT_EQ(client_.receive(1), "-");
  // "OK" = 0x4f + 0x4b = 0x9a; 'H' 'g' '0' = 0x48 + 0x67 + 0x30 = 0xdf.
  client_.send("$Hg0#df");
  EXPECT_EQ(client_.receive(7), "+$OK#9a");
  client_.send("+");
  client_.send("$c#63");
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::cont);
}

TEST_F(GdbServerTest, CtrlCWhileHaltedIsIgnored) {
  std::future<Resume> served = serve();
  client_.send("\x03");
  EXPECT_EQ(client_.request("?"), "T05");
  client_.send("\x03");
  EXPECT_EQ(client_.request("qC"), "QC1");
  EXPECT_TRUE(client_.quiet_for(100ms));
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, StopRepliesAfterResumeSignalsAndExit) {
  std::future<Resume> served = serve(GdbStop::trap());
  client_.send(frame("c"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::cont);
  // GDB waits for the stop: serve() sends it before anything is asked. "T02" sums to 0xb6.
  served = serve(GdbStop::interrupt());
  EXPECT_EQ(client_.receive(7), "$T02#b6");
  client_.send("+");
  EXPECT_EQ(client_.request("?"), "T02");
  client_.send(frame("s"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::step);
  served = serve(GdbStop::fault(GdbStop::kSigSegv));
  EXPECT_EQ(client_.packet(), "T0b");
  client_.send(frame("c"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::cont);
  // "W00" = 0x57 + 0x30 + 0x30 = 0xb7; after it the session is over.
  served = serve(GdbStop::exited_with(0));
  EXPECT_EQ(client_.receive(7), "$W00#b7");
  client_.send("+");
  EXPECT_EQ(within_timeout(served), Resume::detach);
  EXPECT_TRUE(client_.closed_by_server());
}

TEST_F(GdbServerTest, ReportExitSendsWWhenGdbWaits) {
  std::future<Resume> served = serve();
  client_.send(frame("c"));
  EXPECT_EQ(client_.receive(1), "+");
  ASSERT_EQ(within_timeout(served), Resume::cont);
  std::future<int> reported = on_thread([s = shared_] {
    s->server.report_exit(0x2a);
    return 0;
  });
  EXPECT_EQ(client_.packet(), "W2a");
  EXPECT_TRUE(within_timeout(reported));
  EXPECT_TRUE(client_.closed_by_server());
  EXPECT_FALSE(server().connected());
}

TEST_F(GdbServerTest, ReadsAllRegistersLittleEndianWithFpuAndCsrs) {
  target().set_reg(1, 0x0102030405060708);
  target().set_reg(31, 0xfedcba9876543210);
  target().set_reg(32, 0x80000000);
  target().set_reg(33, 0x3ff8000000000000);  // f0 = 1.5
  target().set_reg(66, 0x1f);
  target().set_reg(68, 0xe1);
  std::future<Resume> served = serve();
  const std::string g = client_.request("g");
  // 65 registers of 8 bytes (x0-x31, pc, f0-f31) and 3 of 4 (fflags, frm, fcsr), in hex.
  ASSERT_EQ(g.size(), 2u * (65 * 8 + 3 * 4));
  EXPECT_EQ(g.substr(0, 16), "0000000000000000");
  EXPECT_EQ(g.substr(16, 16), "0807060504030201");
  EXPECT_EQ(g.substr(31 * 16, 16), "1032547698badcfe");
  EXPECT_EQ(g.substr(32 * 16, 16), "0000008000000000");
  EXPECT_EQ(g.substr(33 * 16, 16), "000000000000f83f");
  EXPECT_EQ(g.substr(65 * 16), "1f00000000000000e1000000");
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, WritesAllRegistersFromG) {
  std::future<Resume> served = serve();
  std::string g = client_.request("g");
  ASSERT_EQ(g.size(), 1064u);
  g.replace(2 * 16, 16, "efbeadde00000000");  // x2 = 0xdeadbeef
  g.replace(65 * 16 + 8, 8, "03000000");       // frm = 3
  EXPECT_EQ(client_.request("G" + g), "OK");
  EXPECT_EQ(target().reg(2), 0xdeadbeefu);
  EXPECT_EQ(target().reg(67), 3u);
  // A shorter G writes the leading registers; "xx" fields stay as they are.
  EXPECT_EQ(client_.request("G0000000000000000xxxxxxxxxxxxxxxx0100000000000000"), "OK");
  EXPECT_EQ(target().reg(2), 1u);
  EXPECT_EQ(client_.request("G00000"), "E02");
  EXPECT_EQ(client_.request("G" + g + "00"), "E02");
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, ReadsAndWritesSingleRegisters) {
  target().set_reg(32, 0x1000);
  target().set_reg(68, 0xe1);
  std::future<Resume> served = serve();
  EXPECT_EQ(client_.request("p20"), "0010000000000000");  // pc is 0x20
  EXPECT_EQ(client_.request("p44"), "e1000000");          // fcsr is 0x44, 32 bits
  EXPECT_EQ(client_.request("p41"), "E01");               // 65: no such register
  EXPECT_EQ(client_.request("p1000"), "E01");
  EXPECT_EQ(client_.request("P5=0700000000000000"), "OK");
  EXPECT_EQ(target().reg(5), 7u);
  EXPECT_EQ(client_.request("P21=000000000000f83f"), "OK");
  EXPECT_EQ(target().reg(33), 0x3ff8000000000000u);
  EXPECT_EQ(client_.request("P42=01000000"), "OK");  // fflags
  EXPECT_EQ(target().reg(66), 1u);
  EXPECT_EQ(client_.request("P5=07"), "E02");  // wrong width
  EXPECT_EQ(client_.request("Pzz=0700000000000000"), "E02");
  EXPECT_EQ(target().reg(5), 7u);
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, MemoryRoundTripAndErrors) {
  std::future<Resume> served = serve();
  EXPECT_EQ(client_.request("m1000,4"), "00010203");  // the fake's memory holds its offsets
  EXPECT_EQ(client_.request("M1010,4:deadbeef"), "OK");
  EXPECT_EQ(target().byte(0x1010), 0xde);
  EXPECT_EQ(target().byte(0x1013), 0xef);
  EXPECT_EQ(client_.request("m1010,4"), "deadbeef");
  EXPECT_EQ(client_.request("m0,4"), "E01");
  EXPECT_EQ(client_.request("m2000,1"), "E01");
  EXPECT_EQ(client_.request("m10fe,4"), "feff");  // the readable part of a read past the end
  EXPECT_EQ(client_.request("M10ff,2:0102"), "E01");
  EXPECT_EQ(client_.request("M1010,4:dead"), "E02");
  EXPECT_EQ(client_.request("mzz,4"), "E02");
  // X carries binary data: '#' (0x23) travels escaped as "}\x03".
  EXPECT_EQ(client_.request("X1020,3:a}\x03" "b"), "OK");
  EXPECT_EQ(target().byte(0x1020), 'a');
  EXPECT_EQ(target().byte(0x1021), '#');
  EXPECT_EQ(target().byte(0x1022), 'b');
  EXPECT_EQ(client_.request("X1020,0:"), "OK");  // GDB's probe for X support
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, SoftwareBreakpointsReachTheTarget) {
  std::future<Resume> served = serve();
  EXPECT_EQ(client_.request("Z0,1008,4"), "OK");
  EXPECT_EQ(target().breakpoints(), (std::set<std::uint64_t>{0x1008}));
  EXPECT_EQ(client_.request("Z0,1008,4"), "OK");  // resent: the target sees it once
  EXPECT_EQ(target().breakpoint_calls(), 1);
  EXPECT_EQ(client_.request("Z0,3000,4"), "E01");  // the target refuses
  EXPECT_EQ(client_.request("Z1,1008,4"), "");      // hardware breakpoints: not supported
  EXPECT_EQ(client_.request("Z2,1008,4"), "");
  EXPECT_EQ(client_.request("z0,1008,4"), "OK");
  EXPECT_TRUE(target().breakpoints().empty());
  EXPECT_EQ(client_.request("Z0,1010,2"), "OK");
  client_.send(frame("c"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::cont);
  // The connection breaks while the target runs: the next serve() removes what GDB left.
  EXPECT_EQ(target().breakpoints(), (std::set<std::uint64_t>{0x1010}));
  client_.close();
  served = serve();
  EXPECT_EQ(within_timeout(served), Resume::detach);
  EXPECT_TRUE(target().breakpoints().empty());
}

TEST_F(GdbServerTest, ContinueAndStepHonourAnAddress) {
  std::future<Resume> served = serve();
  client_.send(frame("c1020"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::cont);
  EXPECT_EQ(target().reg(32), 0x1020u);
  served = serve();
  EXPECT_EQ(client_.packet(), "T05");
  client_.send(frame("s1024"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::step);
  EXPECT_EQ(target().reg(32), 0x1024u);
  served = serve();
  EXPECT_EQ(client_.packet(), "T05");
  client_.send(frame("C0b;1030"));  // continue with a signal the core has no use for
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::cont);
  EXPECT_EQ(target().reg(32), 0x1030u);
  served = serve();
  EXPECT_EQ(client_.packet(), "T05");
  client_.send(frame("S05"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::step);
  EXPECT_EQ(target().reg(32), 0x1030u);
}

TEST_F(GdbServerTest, DetachKillAndClosedConnection) {
  std::future<Resume> served = serve();
  EXPECT_EQ(client_.request("D"), "OK");
  EXPECT_EQ(within_timeout(served), Resume::detach);
  EXPECT_TRUE(client_.closed_by_server());
  // With no connection serve() has nobody to serve.
  served = serve();
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, KillEndsTheSession) {
  std::future<Resume> served = serve();
  client_.send(frame("k"));
  EXPECT_EQ(client_.receive(1), "+");
  EXPECT_EQ(within_timeout(served), Resume::kill);
  EXPECT_TRUE(client_.closed_by_server());
}

TEST_F(GdbServerTest, ClosedConnectionCountsAsDetach) {
  std::future<Resume> served = serve();
  EXPECT_EQ(client_.request("?"), "T05");
  client_.close();
  EXPECT_EQ(within_timeout(served), Resume::detach);
  EXPECT_FALSE(server().connected());
}

TEST_F(GdbServerTest, CtrlCWhileRunningIsSeenByInterruptRequested) {
  std::future<Resume> served = serve();
  client_.send(frame("c"));
  EXPECT_EQ(client_.receive(1), "+");
  ASSERT_EQ(within_timeout(served), Resume::cont);
  EXPECT_FALSE(server().interrupt_requested());
  client_.send("\x03");
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  bool interrupted = false;
  while (!interrupted && std::chrono::steady_clock::now() < deadline) {
    interrupted = server().interrupt_requested();
    if (!interrupted) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(interrupted);
  EXPECT_FALSE(server().interrupt_requested());  // once per Ctrl-C
  served = serve(GdbStop::interrupt());
  EXPECT_EQ(client_.packet(), "T02");
  // A Ctrl-C right behind the packet that resumed the target (one segment) counts too.
  client_.send(frame("c") + "\x03");
  EXPECT_EQ(client_.receive(1), "+");
  ASSERT_EQ(within_timeout(served), Resume::cont);
  interrupted = false;
  while (!interrupted && std::chrono::steady_clock::now() < deadline + kTimeout) {
    interrupted = server().interrupt_requested();
    if (!interrupted) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(interrupted);
}

TEST_F(GdbServerTest, ServesTheTargetDescriptionInParts) {
  const std::string xml(GdbServer::target_xml());
  std::future<Resume> served = serve();
  const std::string first = client_.request("qXfer:features:read:target.xml:0,40");
  EXPECT_EQ(first, "m" + xml.substr(0, 0x40));
  std::string whole;
  for (;;) {
    char args[64];
    std::snprintf(args, sizeof args, "qXfer:features:read:target.xml:%zx,100", whole.size());
    const std::string part = client_.request(args);
    ASSERT_FALSE(part.empty());
    ASSERT_TRUE(part[0] == 'm' || part[0] == 'l') << part;
    whole += part.substr(1);
    if (part[0] == 'l') break;
    ASSERT_EQ(part.size(), 0x101u);
  }
  EXPECT_EQ(whole, xml);
  char past_end[64];
  std::snprintf(past_end, sizeof past_end, "qXfer:features:read:target.xml:%zx,100", xml.size());
  EXPECT_EQ(client_.request(past_end), "l");
  EXPECT_EQ(client_.request("qXfer:features:read:other.xml:0,100"), "E00");
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

// The description must say what the g packet holds: registers in number order, 64-bit up to
// f31, then fflags, frm and fcsr as 32-bit at 66-68, with the cpu and fpu features GDB needs.
TEST(GdbTargetXml, AgreesWithTheRegisterLayout) {
  const std::string xml(GdbServer::target_xml());
  EXPECT_NE(xml.find("<architecture>riscv:rv64</architecture>"), std::string::npos);
  EXPECT_NE(xml.find("<feature name=\"org.gnu.gdb.riscv.cpu\">"), std::string::npos);
  EXPECT_NE(xml.find("<feature name=\"org.gnu.gdb.riscv.fpu\">"), std::string::npos);
  const std::regex reg_re(R"re(<reg name="(\w+)" bitsize="(\d+)" [^>]*regnum="(\d+)"/>)re");
  std::vector<std::pair<std::string, std::pair<int, int>>> regs;  // name, (bits, regnum)
  for (std::sregex_iterator it(xml.begin(), xml.end(), reg_re), end; it != end; ++it)
    regs.push_back({(*it)[1], {std::stoi((*it)[2]), std::stoi((*it)[3])}});
  ASSERT_EQ(regs.size(), 68u);
  for (int i = 0; i <= 64; ++i) {
    EXPECT_EQ(regs[i].second.first, 64) << regs[i].first;
    EXPECT_EQ(regs[i].second.second, i) << regs[i].first;
  }
  EXPECT_EQ(regs[32].first, "pc");
  EXPECT_EQ(regs[33].first, "ft0");
  EXPECT_EQ(regs[64].first, "ft11");
  const std::pair<std::string, std::pair<int, int>> csrs[] = {
      {"fflags", {32, 66}}, {"frm", {32, 67}}, {"fcsr", {32, 68}}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(regs[65 + i], csrs[i]);
}

TEST_F(GdbServerTest, AnswersQueriesAndIgnoresWhatItDoesNotKnow) {
  std::future<Resume> served = serve();
  const std::string supported = client_.request("qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
  EXPECT_NE(supported.find("PacketSize=4000"), std::string::npos) << supported;
  EXPECT_NE(supported.find("qXfer:features:read+"), std::string::npos) << supported;
  EXPECT_EQ(client_.request("qAttached"), "1");
  EXPECT_EQ(client_.request("qC"), "QC1");
  EXPECT_EQ(client_.request("qfThreadInfo"), "m1");
  EXPECT_EQ(client_.request("qsThreadInfo"), "l");
  EXPECT_EQ(client_.request("Hc-1"), "OK");
  EXPECT_EQ(client_.request("vCont?"), "");
  EXPECT_EQ(client_.request("vMustReplyEmpty"), "");
  EXPECT_EQ(client_.request("qTStatus"), "");
  EXPECT_EQ(client_.request("!"), "");
  EXPECT_EQ(client_.request(""), "");
  client_.request("D");
  EXPECT_EQ(within_timeout(served), Resume::detach);
}

TEST_F(GdbServerTest, NoAckModeDropsAcknowledgements) {
  std::future<Resume> served = serve();
  EXPECT_EQ(client_.request("QStartNoAckMode"), "OK");  // still acknowledged both ways
  client_.no_acks();
  client_.send("$?#3f");
  EXPECT_EQ(client_.receive(7), "$T05#b9");  // no '+' in front
  client_.send("$Hg0#df");
  EXPECT_EQ(client_.receive(6), "$OK#9a");
  client_.send("$c#63");
  EXPECT_EQ(within_timeout(served), Resume::cont);
  served = serve();
  EXPECT_EQ(client_.receive(7), "$T05#b9");
  EXPECT_TRUE(client_.quiet_for(100ms));  // it waits for no ack: nothing is resent
  client_.send("$k#6b");
  EXPECT_EQ(within_timeout(served), Resume::kill);
}

TEST(GdbServer, NamesItsEndpoint) {
  GdbServer server("127.0.0.1", 0);
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.endpoint(), "127.0.0.1:" + std::to_string(server.port()));
}

TEST(GdbServer, BindErrorNamesAddressPortAndReason) {
  GdbServer first("127.0.0.1", 0);
  const std::string port = std::to_string(first.port());
  try {
    GdbServer second("127.0.0.1", first.port());
    FAIL() << "a second server bound port " << port;
  } catch (const GdbServer::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("127.0.0.1:" + port), std::string::npos) << message;
    EXPECT_NE(message.find("in use"), std::string::npos) << message;
  }
  try {
    GdbServer bad("127.0.0.300", 1234);
    FAIL() << "bound a bad address";
  } catch (const GdbServer::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("127.0.0.300:1234"), std::string::npos) << message;
    EXPECT_NE(message.find("not an IP address"), std::string::npos) << message;
  }
}

// The real debugger against the server and the fake core: connect, registers, memory,
// register write, memory write, a breakpoint, a step and the exit.
TEST(GdbServer, GdbMultiarchDebugsTheFakeCore) {
  const char* const gdb = "/usr/bin/gdb-multiarch";
  if (access(gdb, X_OK) != 0) GTEST_SKIP() << gdb << " is not installed";
  auto shared = std::make_shared<Shared>();
  FakeTarget& target = shared->target;
  target.set_reg(32, 0x1000);
  target.set_reg(1, 0x1234);
  target.set_reg(33, 0x3ff8000000000000);  // f0 = 1.5
  const std::uint8_t nop[] = {0x13, 0x00, 0x00, 0x00};  // addi x0, x0, 0
  for (std::uint64_t addr = 0x1000; addr < 0x1080; addr += 4) target.write_memory(addr, nop, 4);
  const std::uint8_t data[] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe};
  target.write_memory(0x1080, data, sizeof data);

  // The core's loop, as the RV64 core will run it.
  std::future<std::vector<Resume>> core = on_thread([shared] {
    shared->server.accept();
    std::vector<Resume> resumes;
    GdbStop stop = GdbStop::trap();
    for (;;) {
      const Resume how = shared->server.serve(shared->target, stop);
      resumes.push_back(how);
      if (how == Resume::cont) stop = shared->target.run();
      else if (how == Resume::step) stop = shared->target.step();
      else return resumes;
    }
  });

  const std::string port = std::to_string(shared->server.port());
  const std::string command = "timeout -k 5 60 " + std::string(gdb) +
                              " -nx -batch"
                              " -ex 'set architecture riscv:rv64'"
                              " -ex 'target remote 127.0.0.1:" + port + "'"
                              " -ex 'info registers pc'"
                              " -ex 'p/x $ra'"
                              " -ex 'x/2wx 0x1080'"
                              " -ex 'p $x5 = 7'"
                              " -ex 'p $ft0.double'"
                              " -ex 'set {int}0x10c0 = 0x12345678'"
                              " -ex 'break *0x1008'"
                              " -ex 'continue'"
                              " -ex 'stepi'"
                              " -ex 'info registers pc'"
                              " -ex 'delete'"
                              " -ex 'continue'"
                              " 2>&1";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << output;
  } else {
    FAIL() << "cannot run " << command;
  }
  SCOPED_TRACE(output);
  EXPECT_TRUE(std::regex_search(output, std::regex(R"(pc\s+0x1000\s+0x1000)")));
  EXPECT_NE(output.find("$1 = 0x1234"), std::string::npos);
  EXPECT_TRUE(std::regex_search(output, std::regex(R"(0x1080:\s+0x76543210\s+0xfedcba98)")));
  EXPECT_NE(output.find("$2 = 7"), std::string::npos);
  EXPECT_NE(output.find("$3 = 1.5"), std::string::npos);
  EXPECT_NE(output.find("Breakpoint 1, 0x0000000000001008 in ?? ()"), std::string::npos);
  EXPECT_TRUE(std::regex_search(output, std::regex(R"(pc\s+0x100c\s+0x100c)")));
  EXPECT_NE(output.find("exited with code 03"), std::string::npos);
  EXPECT_EQ(output.find("rror"), std::string::npos);  // "Error", "error" anywhere

  const std::optional<std::vector<Resume>> resumes = within_timeout(core);
  ASSERT_TRUE(resumes);
  EXPECT_EQ(resumes->back(), Resume::detach);
  EXPECT_EQ(target.reg(5), 7u);
  EXPECT_EQ(target.byte(0x10c0), 0x78);
  EXPECT_EQ(target.byte(0x10c3), 0x12);
  EXPECT_TRUE(target.breakpoints().empty());
}
