#include "rv64/gdb_server.h"

#include <algorithm>
#include <chrono>
#include <cassert>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace cestvp {

namespace {

using boost::asio::ip::tcp;

// Largest packet we accept and send (advertised in qSupported, in hex there). Data replies (m,
// qXfer) are cut so that even fully escaped binary data fits.
constexpr std::size_t kPacketSize = 0x4000;
constexpr std::string_view kPacketSizeHex = "4000";
static_assert(kPacketSize == 0x4000, "kPacketSizeHex must say the same");
constexpr std::size_t kMaxDataBytes = (kPacketSize - 32) / 2;
// A reply GDB keeps rejecting ('-') this often means a broken link: give up on it.
constexpr int kMaxSendAttempts = 10;
constexpr char kCtrlC = '\x03';

// GDB's RISC-V register numbers (gdb/riscv-tdep.h); CSRs are 65 + their CSR number.
constexpr unsigned kPcRegno = 32;
constexpr unsigned kLastFprRegno = 64;
constexpr unsigned kFflagsRegno = 66;
constexpr unsigned kFcsrRegno = 68;
constexpr unsigned kLastRegno = kFcsrRegno;

// Bytes of register `regno` in g/G/p/P packets: the target description's bitsize / 8; 0 for a
// number it does not describe. The g packet holds them in number order with no gaps (GDB lays
// it out from the description the same way).
constexpr std::size_t register_bytes(unsigned regno) {
  if (regno <= kLastFprRegno) return 8;
  if (regno >= kFflagsRegno && regno <= kFcsrRegno) return 4;
  return 0;
}

// RV64GC for gdb-multiarch 13 (measured): without the FPU feature GDB refuses
// an lp64d ELF ("bfd requires flen 8, but target has flen 0"). Register sizes must agree with
// register_bytes().
constexpr std::string_view kTargetXml = R"(<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>riscv:rv64</architecture>
  <feature name="org.gnu.gdb.riscv.cpu">
    <reg name="zero" bitsize="64" type="int" regnum="0"/>
    <reg name="ra" bitsize="64" type="code_ptr" regnum="1"/>
    <reg name="sp" bitsize="64" type="data_ptr" regnum="2"/>
    <reg name="gp" bitsize="64" type="data_ptr" regnum="3"/>
    <reg name="tp" bitsize="64" type="data_ptr" regnum="4"/>
    <reg name="t0" bitsize="64" type="int" regnum="5"/>
    <reg name="t1" bitsize="64" type="int" regnum="6"/>
    <reg name="t2" bitsize="64" type="int" regnum="7"/>
    <reg name="fp" bitsize="64" type="data_ptr" regnum="8"/>
    <reg name="s1" bitsize="64" type="int" regnum="9"/>
    <reg name="a0" bitsize="64" type="int" regnum="10"/>
    <reg name="a1" bitsize="64" type="int" regnum="11"/>
    <reg name="a2" bitsize="64" type="int" regnum="12"/>
    <reg name="a3" bitsize="64" type="int" regnum="13"/>
    <reg name="a4" bitsize="64" type="int" regnum="14"/>
    <reg name="a5" bitsize="64" type="int" regnum="15"/>
    <reg name="a6" bitsize="64" type="int" regnum="16"/>
    <reg name="a7" bitsize="64" type="int" regnum="17"/>
    <reg name="s2" bitsize="64" type="int" regnum="18"/>
    <reg name="s3" bitsize="64" type="int" regnum="19"/>
    <reg name="s4" bitsize="64" type="int" regnum="20"/>
    <reg name="s5" bitsize="64" type="int" regnum="21"/>
    <reg name="s6" bitsize="64" type="int" regnum="22"/>
    <reg name="s7" bitsize="64" type="int" regnum="23"/>
    <reg name="s8" bitsize="64" type="int" regnum="24"/>
    <reg name="s9" bitsize="64" type="int" regnum="25"/>
    <reg name="s10" bitsize="64" type="int" regnum="26"/>
    <reg name="s11" bitsize="64" type="int" regnum="27"/>
    <reg name="t3" bitsize="64" type="int" regnum="28"/>
    <reg name="t4" bitsize="64" type="int" regnum="29"/>
    <reg name="t5" bitsize="64" type="int" regnum="30"/>
    <reg name="t6" bitsize="64" type="int" regnum="31"/>
    <reg name="pc" bitsize="64" type="code_ptr" regnum="32"/>
  </feature>
  <feature name="org.gnu.gdb.riscv.fpu">
    <union id="riscv_double">
      <field name="float" type="ieee_single"/>
      <field name="double" type="ieee_double"/>
    </union>
    <reg name="ft0" bitsize="64" type="riscv_double" regnum="33"/>
    <reg name="ft1" bitsize="64" type="riscv_double" regnum="34"/>
    <reg name="ft2" bitsize="64" type="riscv_double" regnum="35"/>
    <reg name="ft3" bitsize="64" type="riscv_double" regnum="36"/>
    <reg name="ft4" bitsize="64" type="riscv_double" regnum="37"/>
    <reg name="ft5" bitsize="64" type="riscv_double" regnum="38"/>
    <reg name="ft6" bitsize="64" type="riscv_double" regnum="39"/>
    <reg name="ft7" bitsize="64" type="riscv_double" regnum="40"/>
    <reg name="fs0" bitsize="64" type="riscv_double" regnum="41"/>
    <reg name="fs1" bitsize="64" type="riscv_double" regnum="42"/>
    <reg name="fa0" bitsize="64" type="riscv_double" regnum="43"/>
    <reg name="fa1" bitsize="64" type="riscv_double" regnum="44"/>
    <reg name="fa2" bitsize="64" type="riscv_double" regnum="45"/>
    <reg name="fa3" bitsize="64" type="riscv_double" regnum="46"/>
    <reg name="fa4" bitsize="64" type="riscv_double" regnum="47"/>
    <reg name="fa5" bitsize="64" type="riscv_double" regnum="48"/>
    <reg name="fa6" bitsize="64" type="riscv_double" regnum="49"/>
    <reg name="fa7" bitsize="64" type="riscv_double" regnum="50"/>
    <reg name="fs2" bitsize="64" type="riscv_double" regnum="51"/>
    <reg name="fs3" bitsize="64" type="riscv_double" regnum="52"/>
    <reg name="fs4" bitsize="64" type="riscv_double" regnum="53"/>
    <reg name="fs5" bitsize="64" type="riscv_double" regnum="54"/>
    <reg name="fs6" bitsize="64" type="riscv_double" regnum="55"/>
    <reg name="fs7" bitsize="64" type="riscv_double" regnum="56"/>
    <reg name="fs8" bitsize="64" type="riscv_double" regnum="57"/>
    <reg name="fs9" bitsize="64" type="riscv_double" regnum="58"/>
    <reg name="fs10" bitsize="64" type="riscv_double" regnum="59"/>
    <reg name="fs11" bitsize="64" type="riscv_double" regnum="60"/>
    <reg name="ft8" bitsize="64" type="riscv_double" regnum="61"/>
    <reg name="ft9" bitsize="64" type="riscv_double" regnum="62"/>
    <reg name="ft10" bitsize="64" type="riscv_double" regnum="63"/>
    <reg name="ft11" bitsize="64" type="riscv_double" regnum="64"/>
    <reg name="fflags" bitsize="32" type="int" regnum="66"/>
    <reg name="frm" bitsize="32" type="int" regnum="67"/>
    <reg name="fcsr" bitsize="32" type="int" regnum="68"/>
  </feature>
</target>
)";

// Replies for errors. GDB shows only that the request failed; the number tells us which way.
constexpr std::string_view kErrTarget = "E01";     // the target refused (unmapped memory, ...)
constexpr std::string_view kErrMalformed = "E02";  // the packet's arguments do not parse
constexpr std::string_view kErrAnnex = "E00";      // qXfer of an object we do not have

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex_byte(std::string& out, std::uint8_t byte) {
  out += kHexDigits[byte >> 4];
  out += kHexDigits[byte & 0xf];
}

// A big-endian hex number as GDB writes addresses, lengths and register numbers.
bool parse_number(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 16) return false;
  value = 0;
  for (char c : text) {
    const int digit = hex_digit(c);
    if (digit < 0) return false;
    value = value << 4 | static_cast<unsigned>(digit);
  }
  return true;
}

bool parse_bytes(std::string_view hex, std::vector<std::uint8_t>& bytes) {
  if (hex.size() % 2 != 0) return false;
  bytes.resize(hex.size() / 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Register values travel in target byte order: little-endian for RISC-V.
void append_register(std::string& out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) append_hex_byte(out, static_cast<std::uint8_t>(value >> (8 * i)));
}

bool parse_register(std::string_view hex, std::size_t bytes, std::uint64_t& value) {
  std::vector<std::uint8_t> raw;
  if (hex.size() != 2 * bytes || !parse_bytes(hex, raw)) return false;
  value = 0;
  for (std::size_t i = 0; i < bytes; ++i) value |= std::uint64_t{raw[i]} << (8 * i);
  return true;
}

// "addr,length" of m, M, X, qXfer.
bool parse_range(std::string_view text, std::uint64_t& addr, std::uint64_t& length) {
  const std::size_t comma = text.find(',');
  return comma != std::string_view::npos && parse_number(text.substr(0, comma), addr) &&
         parse_number(text.substr(comma + 1), length);
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::uint8_t checksum(std::string_view bytes) {
  unsigned sum = 0;
  for (char c : bytes) sum += static_cast<unsigned char>(c);
  return static_cast<std::uint8_t>(sum);
}

// Binary data may not contain the framing characters; '*' would read as run-length encoding.
bool needs_escape(char c) { return c == '$' || c == '#' || c == '}' || c == '*'; }

std::string escape(std::string_view payload) {
  std::string out;
  out.reserve(payload.size());
  for (char c : payload) {
    if (needs_escape(c)) {
      out += '}';
      c = static_cast<char>(c ^ 0x20);
    }
    out += c;
  }
  return out;
}

std::string unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '}' && i + 1 < raw.size())
      out += static_cast<char>(raw[++i] ^ 0x20);
    else
      out += raw[i];
  }
  return out;
}

std::string stop_reply(const GdbStop& stop) {
  std::string reply = stop.kind == GdbStop::Kind::exited ? "W" : "T";
  append_hex_byte(reply, static_cast<std::uint8_t>(stop.kind == GdbStop::Kind::exited ? stop.exit_code : stop.signal));
  return reply;
}

}  // namespace

struct GdbServer::Io {
  boost::asio::io_context context;
  tcp::acceptor acceptor{context};
  tcp::socket socket{context};
};

GdbServer::GdbServer(const std::string& address, std::uint16_t port) : io_(std::make_unique<Io>()), address_(address) {
  boost::system::error_code ec;
  const auto fail = [&](const char* what) {
    return Error("GDB server: cannot listen on " + address + ":" + std::to_string(port) + ": " + what + ": " +
                 ec.message());
  };
  const boost::asio::ip::address ip = boost::asio::ip::make_address(address, ec);
  if (ec) throw fail("not an IP address");
  const tcp::endpoint requested(ip, port);
  io_->acceptor.open(requested.protocol(), ec);
  if (ec) throw fail("cannot open a socket");
  // A restarted VP can take its port back at once instead of waiting out TIME_WAIT; a port
  // another process listens on still fails to bind.
  io_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) throw fail("cannot set SO_REUSEADDR");
  io_->acceptor.bind(requested, ec);
  if (ec) throw fail("bind failed");
  io_->acceptor.listen(1, ec);
  if (ec) throw fail("listen failed");
  port_ = io_->acceptor.local_endpoint(ec).port();
  if (ec) throw fail("no local endpoint");
}

GdbServer::~GdbServer() = default;

std::uint16_t GdbServer::port() const { return port_; }

std::string GdbServer::endpoint() const {
  boost::system::error_code ec;
  const boost::asio::ip::address ip = io_->acceptor.local_endpoint(ec).address();
  const std::string host = ec ? address_ : ip.to_string();
  return (ip.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port_);
}

bool GdbServer::accept(const std::function<bool()>& give_up) {
  disconnect();
  // Asynchronously, looking up every 100 ms: a blocking accept() would outlast a Ctrl-C to
  // satvp (the kernel restarts it after the signal handler).
  boost::system::error_code ec = boost::asio::error::would_block;
  io_->acceptor.async_accept(io_->socket, [&ec](const boost::system::error_code& result) { ec = result; });
  io_->context.restart();
  while (ec == boost::asio::error::would_block) {
    io_->context.run_for(std::chrono::milliseconds(100));
    if (ec == boost::asio::error::would_block && give_up && give_up()) {
      io_->acceptor.cancel();
      io_->context.run();  // the handler runs with operation_aborted
      io_->socket.close(ec);
      return false;
    }
  }
  if (ec) throw Error("GDB server on " + endpoint() + ": accepting a connection failed: " + ec.message());
  // Every exchange is a small request and a small reply: do not let Nagle delay them.
  io_->socket.set_option(tcp::no_delay(true), ec);
  return true;
}

bool GdbServer::connected() const { return io_->socket.is_open(); }

void GdbServer::disconnect() {
  boost::system::error_code ignored;
  io_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  io_->socket.close(ignored);
  inbox_.clear();
  inbox_pos_ = 0;
  no_ack_ = false;
  awaiting_stop_ = false;
}

GdbServer::Resume GdbServer::end_session(GdbTarget* target, Resume how) {
  if (target)
    for (std::uint64_t addr : breakpoints_) target->remove_breakpoint(addr);
  breakpoints_.clear();
  disconnect();
  return how;
}

GdbServer::Resume GdbServer::serve(GdbTarget& target, const GdbStop& stop) {
  if (!connected()) return end_session(&target, Resume::detach);
  if (awaiting_stop_) {
    awaiting_stop_ = false;
    if (!send_stop_reply(stop)) return end_session(&target, Resume::detach);
  }
  for (;;) {
    const std::optional<std::string> packet = receive_packet();
    if (!packet) return end_session(&target, Resume::detach);
    if (const std::optional<Resume> resumed = handle(*packet, target, stop)) return *resumed;
  }
}

bool GdbServer::send_stop_reply(const GdbStop& stop) {
  return send_packet(stop_reply(stop)) && stop.kind != GdbStop::Kind::exited;
}

void GdbServer::report_exit(int exit_code) {
  if (connected() && awaiting_stop_) send_packet(stop_reply(GdbStop::exited_with(exit_code)));
  end_session(nullptr, Resume::detach);
}

bool GdbServer::interrupt_requested() {
  if (!connected()) return false;
  boost::system::error_code ec;
  const std::size_t available = io_->socket.available(ec);
  if (!ec && available > 0) {
    char buffer[256];
    const std::size_t n = io_->socket.read_some(boost::asio::buffer(buffer, std::min(available, sizeof buffer)), ec);
    if (!ec) inbox_.append(buffer, n);
  }
  // The 0x03 may also have come in with the packet that resumed the target.
  const auto unread = inbox_.begin() + static_cast<std::ptrdiff_t>(inbox_pos_);
  const auto kept = std::remove(unread, inbox_.end(), kCtrlC);
  if (kept == inbox_.end()) return false;
  inbox_.erase(kept, inbox_.end());
  return true;
}

std::string_view GdbServer::target_xml() { return kTargetXml; }

// Packet layer ----------------------------------------------------------------------------------

bool GdbServer::peek_byte(char& c) {
  while (inbox_pos_ == inbox_.size()) {
    if (!connected()) return false;
    inbox_.clear();
    inbox_pos_ = 0;
    char buffer[4096];
    boost::system::error_code ec;
    const std::size_t n = io_->socket.read_some(boost::asio::buffer(buffer), ec);
    if (ec == boost::asio::error::interrupted) continue;
    if (ec) {  // end of file: GDB went away
      disconnect();
      return false;
    }
    inbox_.append(buffer, n);
  }
  c = inbox_[inbox_pos_];
  return true;
}

bool GdbServer::next_byte(char& c) {
  if (!peek_byte(c)) return false;
  ++inbox_pos_;
  return true;
}

bool GdbServer::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    if (!connected()) return false;
    boost::system::error_code ec;
    const std::size_t n = io_->socket.write_some(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == boost::asio::error::interrupted) continue;
    if (ec) {
      disconnect();
      return false;
    }
    bytes.remove_prefix(n);
  }
  return true;
}

std::optional<std::string> GdbServer::receive_packet() {
  char c = 0;
  for (;;) {
    if (!next_byte(c)) return std::nullopt;
    if (c != '$') continue;  // acks, Ctrl-C while halted (ignored), line noise
    std::string raw;
    for (;;) {
      if (!next_byte(c)) return std::nullopt;
      if (c == '#') break;
      if (c == '$') raw.clear();  // the rest of the previous packet was lost: start again
      else raw += c;
    }
    char hi = 0, lo = 0;
    if (!next_byte(hi) || !next_byte(lo)) return std::nullopt;
    const int sent = hex_digit(hi) < 0 || hex_digit(lo) < 0 ? -1 : hex_digit(hi) << 4 | hex_digit(lo);
    const bool intact = sent == checksum(raw);
    if (!no_ack_ && !send_raw(intact ? "+" : "-")) return std::nullopt;
    if (intact) return unescape(raw);
  }
}

bool GdbServer::send_packet(std::string_view payload) {
  const std::string body = escape(payload);
  assert(body.size() + 4 <= kPacketSize);
  std::string frame = "$" + body + "#";
  append_hex_byte(frame, checksum(body));
  for (int attempt = 0; attempt < kMaxSendAttempts; ++attempt) {
    if (!send_raw(frame)) return false;
    if (no_ack_) return true;
    for (char c = 0;;) {
      if (!peek_byte(c)) return false;
      if (c == '$') return true;  // GDB went on with its next packet: as good as an ack
      ++inbox_pos_;
      if (c == '+') return true;
      if (c == '-') break;  // corrupted on the way: send again
    }
  }
  disconnect();
  return false;
}

// Commands --------------------------------------------------------------------------------------

std::optional<GdbServer::Resume> GdbServer::handle(const std::string& packet, GdbTarget& target, const GdbStop& stop) {
  const std::string_view p = packet;
  const std::string_view args = p.empty() ? p : p.substr(1);
  std::string reply;  // stays empty for what we do not support
  switch (p.empty() ? '\0' : p[0]) {
    case '?':
      if (!send_stop_reply(stop)) return end_session(&target, Resume::detach);
      return std::nullopt;
    case 'g': reply = read_all_registers(target); break;
    case 'G': reply = write_all_registers(args, target); break;
    case 'p': reply = read_one_register(args, target); break;
    case 'P': reply = write_one_register(args, target); break;
    case 'm': reply = read_memory(args, target); break;
    case 'M': reply = write_memory(args, false, target); break;
    case 'X': reply = write_memory(args, true, target); break;
    case 'Z': reply = breakpoint(args, true, target); break;
    case 'z': reply = breakpoint(args, false, target); break;
    case 'c': return resume(args, Resume::cont, target);
    case 's': return resume(args, Resume::step, target);
    // Continue/step with a signal (GDB passes on SIGSEGV after a fault stop): the core has no
    // signals to deliver, so only the address counts.
    case 'C':
    case 'S': {
      const std::size_t semicolon = args.find(';');
      const std::string_view address =
          semicolon == std::string_view::npos ? std::string_view{} : args.substr(semicolon + 1);
      return resume(address, p[0] == 'C' ? Resume::cont : Resume::step, target);
    }
    case 'D':
      send_packet("OK");
      return end_session(&target, Resume::detach);
    case 'k':  // no reply: GDB closes the connection itself
      return end_session(&target, Resume::kill);
    case 'H':  // select a thread: there is one
    case 'T':  // is the thread alive: it is
      reply = "OK";
      break;
    case 'q':
      if (starts_with(p, "qSupported")) {
        reply = "PacketSize=" + std::string(kPacketSizeHex) + ";qXfer:features:read+;QStartNoAckMode+";
      } else if (starts_with(p, "qXfer:features:read:")) {
        reply = read_features(p.substr(std::string_view("qXfer:features:read:").size()));
      } else if (p == "qAttached") {
        reply = "1";  // GDB detaches rather than kills when it quits
      } else if (p == "qC") {
        reply = "QC1";
      } else if (p == "qfThreadInfo") {
        reply = "m1";
      } else if (p == "qsThreadInfo") {
        reply = "l";
      }
      break;
    case 'Q':
      if (p == "QStartNoAckMode") {
        // GDB still acknowledges this OK; both sides stop acknowledging after it.
        if (!send_packet("OK")) return end_session(&target, Resume::detach);
        no_ack_ = true;
        return std::nullopt;
      }
      break;
    default: break;  // vMustReplyEmpty, vCont?, anything else: not supported
  }
  if (!send_packet(reply)) return end_session(&target, Resume::detach);
  return std::nullopt;
}

std::optional<GdbServer::Resume> GdbServer::resume(std::string_view address, Resume how, GdbTarget& target) {
  if (!address.empty()) {
    std::uint64_t pc = 0;
    const std::string_view error = !parse_number(address, pc) ? kErrMalformed
                                   : !target.write_register(kPcRegno, pc) ? kErrTarget
                                                                           : std::string_view{};
    if (!error.empty()) {
      if (!send_packet(error)) return end_session(&target, Resume::detach);
      return std::nullopt;
    }
  }
  awaiting_stop_ = true;
  return how;
}

std::string GdbServer::read_all_registers(GdbTarget& target) {
  std::string reply;
  for (unsigned regno = 0; regno <= kLastRegno; ++regno) {
    const std::size_t bytes = register_bytes(regno);
    std::uint64_t value = 0;
    if (bytes == 0) continue;
    if (target.read_register(regno, value))
      append_register(reply, value, bytes);
    else
      reply.append(2 * bytes, 'x');  // unavailable (a core without FPU, say)
  }
  return reply;
}

// G may be shorter than g (then only the leading registers are written); "xx" fields are
// left alone. Nothing is written unless the whole packet parses.
std::string GdbServer::write_all_registers(std::string_view hex, GdbTarget& target) {
  std::vector<std::pair<unsigned, std::uint64_t>> writes;
  for (unsigned regno = 0; regno <= kLastRegno && !hex.empty(); ++regno) {
    const std::size_t bytes = register_bytes(regno);
    if (bytes == 0) continue;
    if (hex.size() < 2 * bytes) return std::string(kErrMalformed);
    const std::string_view field = hex.substr(0, 2 * bytes);
    hex.remove_prefix(2 * bytes);
    std::uint64_t value = 0;
    if (field.find('x') != std::string_view::npos) continue;
    if (!parse_register(field, bytes, value)) return std::string(kErrMalformed);
    writes.emplace_back(regno, value);
  }
  if (!hex.empty()) return std::string(kErrMalformed);
  bool all_written = true;
  for (const auto& [regno, value] : writes) all_written = target.write_register(regno, value) && all_written;
  return std::string(all_written ? "OK" : kErrTarget);
}

std::string GdbServer::read_one_register(std::string_view args, GdbTarget& target) {
  std::uint64_t regno = 0;
  if (!parse_number(args, regno)) return std::string(kErrMalformed);
  const std::size_t bytes = regno <= kLastRegno ? register_bytes(static_cast<unsigned>(regno)) : 0;
  if (bytes == 0) return std::string(kErrTarget);
  std::uint64_t value = 0;
  if (!target.read_register(static_cast<unsigned>(regno), value)) return std::string(2 * bytes, 'x');
  std::string reply;
  append_register(reply, value, bytes);
  return reply;
}

std::string GdbServer::write_one_register(std::string_view args, GdbTarget& target) {
  const std::size_t equals = args.find('=');
  std::uint64_t regno = 0, value = 0;
  if (equals == std::string_view::npos || !parse_number(args.substr(0, equals), regno))
    return std::string(kErrMalformed);
  const std::size_t bytes = regno <= kLastRegno ? register_bytes(static_cast<unsigned>(regno)) : 0;
  if (bytes == 0) return std::string(kErrTarget);
  if (!parse_register(args.substr(equals + 1), bytes, value)) return std::string(kErrMalformed);
  return std::string(target.write_register(static_cast<unsigned>(regno), value) ? "OK" : kErrTarget);
}

// A read that runs into unreadable memory answers the readable part (GDB asks again for the
// rest and then gets E01), the way gdbserver does; one that starts there answers E01.
std::string GdbServer::read_memory(std::string_view args, GdbTarget& target) {
  std::uint64_t addr = 0, length = 0;
  if (!parse_range(args, addr, length)) return std::string(kErrMalformed);
  std::vector<std::uint8_t> data(std::min<std::uint64_t>(length, kMaxDataBytes));
  if (!target.read_memory(addr, data.data(), data.size())) {
    std::size_t readable = 0;
    while (readable < data.size() && target.read_memory(addr + readable, &data[readable], 1)) ++readable;
    if (readable == 0) return std::string(kErrTarget);
    data.resize(readable);
  }
  std::string reply;
  reply.reserve(2 * data.size());
  for (std::uint8_t byte : data) append_hex_byte(reply, byte);
  return reply;
}

std::string GdbServer::write_memory(std::string_view args, bool binary, GdbTarget& target) {
  const std::size_t colon = args.find(':');
  std::uint64_t addr = 0, length = 0;
  if (colon == std::string_view::npos || !parse_range(args.substr(0, colon), addr, length))
    return std::string(kErrMalformed);
  const std::string_view payload = args.substr(colon + 1);
  std::vector<std::uint8_t> data;
  if (binary)
    data.assign(payload.begin(), payload.end());  // already unescaped with the packet
  else if (!parse_bytes(payload, data))
    return std::string(kErrMalformed);
  if (data.size() != length) return std::string(kErrMalformed);
  if (data.empty()) return "OK";  // GDB probes X support with an empty write
  return std::string(target.write_memory(addr, data.data(), data.size()) ? "OK" : kErrTarget);
}

// "0,addr,kind". Inserting or removing twice is harmless: GDB resends a packet whose ack it
// lost, and the target sees each change once.
std::string GdbServer::breakpoint(std::string_view args, bool insert, GdbTarget& target) {
  if (!starts_with(args, "0,")) return "";  // hardware breakpoints and watchpoints: not supported
  const std::string_view location = args.substr(2);
  std::uint64_t addr = 0, kind = 0;
  if (!parse_range(location, addr, kind)) return std::string(kErrMalformed);
  const bool known = breakpoints_.count(addr) != 0;
  if (insert && !known) {
    if (!target.insert_breakpoint(addr)) return std::string(kErrTarget);
    breakpoints_.insert(addr);
  } else if (!insert && known) {
    if (!target.remove_breakpoint(addr)) return std::string(kErrTarget);
    breakpoints_.erase(addr);
  }
  return "OK";
}

// "annex:offset,length" -> 'm' + data when more follows, 'l' + data for the last part.
std::string GdbServer::read_features(std::string_view args) const {
  const std::size_t colon = args.find(':');
  if (colon == std::string_view::npos || args.substr(0, colon) != "target.xml") return std::string(kErrAnnex);
  std::uint64_t offset = 0, length = 0;
  if (!parse_range(args.substr(colon + 1), offset, length)) return std::string(kErrMalformed);
  if (offset >= kTargetXml.size()) return "l";
  const std::string_view part = kTargetXml.substr(offset, std::min<std::uint64_t>(length, kMaxDataBytes));
  return (offset + part.size() < kTargetXml.size() ? "m" : "l") + std::string(part);
}

}  // namespace cestvp
