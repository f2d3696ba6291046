// A GDB remote-serial-protocol stub for one RISC-V core (RV64GC: x0-x31, pc, f0-f31, fflags,
// frm, fcsr). It knows the core only through GdbTarget, so any core that can be halted and
// inspected can use it. The core drives it from its own thread (no thread of the server's):
//
//   GdbServer gdb("127.0.0.1", 1234);
//   gdb.accept();                                 // wait for `target remote :1234`
//   GdbStop stop;                                 // halted at entry (SIGTRAP)
//   for (;;) switch (gdb.serve(core, stop)) {     // GDB inspects the halted core here
//     case Resume::cont: stop = run until a breakpoint, a fault, the end, or until
//                         gdb.interrupt_requested() (polled every few thousand instructions)
//     case Resume::step: stop = run one instruction
//     case Resume::detach: run on without the debugger
//     case Resume::kill: end the simulation
//   }
//   gdb.report_exit(code);  // the guest ended while GDB waited (or serve() an exited stop)
//
// While the stub serves, simulated time does not move: serve() blocks the core's thread.
// Every member is called from that one thread; the class is not thread-safe.
//
// Protocol subset: all-stop, one thread, no extended mode, no run-length encoding in replies.
// Software breakpoints only (Z0/z0); the server remembers the ones GDB set and removes them
// from the target if the connection ends without GDB removing them (lost connection, kill).
// GDB 13 single-steps RISC-V in software: `stepi` arrives as a Z0 at the next pc and a `c`, so
// breakpoints inserted while halted must take effect at once (for unicorn: flush the block).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cestvp {

// What the stub needs from a halted core. Register numbers are GDB's for RISC-V:
// 0-31 x0-x31, 32 pc, 33-64 f0-f31 (64-bit), 66 fflags, 67 frm, 68 fcsr (these three 32-bit).
class GdbTarget {
 public:
  virtual ~GdbTarget() = default;
  virtual bool read_register(unsigned regno, std::uint64_t& value) = 0;  // false: no such register
  virtual bool write_register(unsigned regno, std::uint64_t value) = 0;
  // Debug access: no side effects, no simulated time. false if any byte is not readable/writable.
  virtual bool read_memory(std::uint64_t addr, std::uint8_t* dst, std::size_t bytes) = 0;
  virtual bool write_memory(std::uint64_t addr, const std::uint8_t* src, std::size_t bytes) = 0;
  virtual bool insert_breakpoint(std::uint64_t addr) = 0;  // software breakpoint (Z0/z0)
  virtual bool remove_breakpoint(std::uint64_t addr) = 0;
};

// Why the target stopped, reported to GDB as a stop reply.
struct GdbStop {
  enum class Kind {
    halted,       // entry, step done, breakpoint: SIGTRAP
    interrupted,  // Ctrl-C: SIGINT
    fault,        // guest fault: SIGSEGV or SIGILL as given
    exited        // W xx
  } kind = Kind::halted;
  int signal = 5;     // for halted/interrupted/fault
  int exit_code = 0;  // for exited

  // GDB's own signal numbers (gdb/signals.def), which the protocol uses whatever the host.
  static constexpr int kSigInt = 2, kSigIll = 4, kSigTrap = 5, kSigAbrt = 6, kSigBus = 10, kSigSegv = 11;
  // Stops with kind and signal that belong together.
  static GdbStop trap() { return {Kind::halted, kSigTrap, 0}; }
  static GdbStop interrupt() { return {Kind::interrupted, kSigInt, 0}; }
  static GdbStop fault(int signal) { return {Kind::fault, signal, 0}; }
  static GdbStop exited_with(int code) { return {Kind::exited, 0, code}; }
};

class GdbServer {
 public:
  struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  enum class Resume { cont, step, detach, kill };

  // Binds and listens on address:port (port 0 picks a free one). Throws Error naming address,
  // port and the OS reason (port in use, bad address).
  GdbServer(const std::string& address, std::uint16_t port);
  ~GdbServer();
  GdbServer(const GdbServer&) = delete;
  GdbServer& operator=(const GdbServer&) = delete;

  std::uint16_t port() const;    // the port actually bound
  std::string endpoint() const;  // "127.0.0.1:1234" ("[::1]:1234" for IPv6)
  // Blocks until GDB connects (true) or give_up(), asked every 100 ms, says to stop waiting
  // (false). A connection still open is closed first.
  bool accept(const std::function<bool()>& give_up = {});
  bool connected() const;

  // Sends the stop reply for `stop` if GDB is waiting for one (it resumed the target last
  // time), then serves packets until GDB resumes, detaches or kills. A closed connection, or
  // none, counts as detach. After an `exited` stop has been reported the session ends: the
  // connection is closed and the answer is detach. Blocking.
  Resume serve(GdbTarget& target, const GdbStop& stop);

  // While the target runs: whether GDB sent Ctrl-C (0x03) since the last call. Costs one
  // ioctl when nothing arrived, so it can be called every few thousand guest instructions.
  bool interrupt_requested();

  // The target exited: sends the W reply if GDB is waiting for a stop reply, then closes the
  // connection (GDB ends a `target remote` session when the process exits).
  void report_exit(int exit_code);

  // The target description served as qXfer:features:read:target.xml.
  static std::string_view target_xml();

 private:
  struct Io;  // Boost.Asio objects, kept out of this header

  std::optional<Resume> handle(const std::string& packet, GdbTarget& target, const GdbStop& stop);
  std::string read_all_registers(GdbTarget& target);
  std::string write_all_registers(std::string_view hex, GdbTarget& target);
  std::string read_one_register(std::string_view args, GdbTarget& target);
  std::string write_one_register(std::string_view args, GdbTarget& target);
  std::string read_memory(std::string_view args, GdbTarget& target);
  std::string write_memory(std::string_view args, bool binary, GdbTarget& target);
  std::string breakpoint(std::string_view args, bool insert, GdbTarget& target);
  std::string read_features(std::string_view args) const;
  std::optional<Resume> resume(std::string_view address, Resume how, GdbTarget& target);

  // Sends the stop reply; false when that ended the session (exited) or the connection failed.
  bool send_stop_reply(const GdbStop& stop);
  // Removes the breakpoints GDB left in `target` (if given) and closes the connection.
  Resume end_session(GdbTarget* target, Resume how);

  // Packet layer: framing, checksums, acknowledgements. false/nullopt: the connection ended.
  std::optional<std::string> receive_packet();
  bool send_packet(std::string_view payload);
  bool send_raw(std::string_view bytes);
  bool peek_byte(char& c);  // the next received byte, left unread; blocks
  bool next_byte(char& c);
  void disconnect();

  std::unique_ptr<Io> io_;
  std::uint16_t port_ = 0;
  std::string address_;
  std::string inbox_;          // received bytes, read up to inbox_pos_
  std::size_t inbox_pos_ = 0;
  bool no_ack_ = false;          // QStartNoAckMode accepted: neither side sends +/-
  bool awaiting_stop_ = false;   // GDB resumed the target and waits for a stop reply
  std::set<std::uint64_t> breakpoints_;  // inserted by GDB and not yet removed
};

}  // namespace cestvp
