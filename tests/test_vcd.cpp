// Tracer and VcdWriter: the VCD is read back with a parser of its own (not the writer's code),
// checked value by value, and handed to vcd2fst; the .gtkw save file and the transaction log
// are checked too.
//
// SystemC elaborates once per process, so every test shares one simulation (run()). It drives
// two tracers: `small`, a handful of hand-placed transactions, changes and firmware phases
// (a text signal) with known values, and `bulk`, enough traffic to force flushes while the simulation runs, from decoupled
// initiators (times ahead) and from one whose target waits (starts already past).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

#include "tracer.h"
#include "vcd_writer.h"

using namespace sc_core;
using cestvp::Tracer;
namespace fs = std::filesystem;

namespace {

// ---- An independent VCD reader ----------------------------------------------------------------

struct Var {
  std::string id;
  unsigned width = 0;
};

struct Vcd {
  std::string timescale;
  std::map<std::string, Var> vars;  // by name as GTKWave shows it: "satvp.bus.cpu.addr[63:0]"
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> changes;  // by id
  std::vector<std::uint64_t> times;  // every #time, in file order

  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& of(const std::string& name) const {
    static const std::vector<std::pair<std::uint64_t, std::uint64_t>> none;
    auto var = vars.find(name);
    if (var == vars.end()) return none;
    auto c = changes.find(var->second.id);
    return c == changes.end() ? none : c->second;
  }
  // The value after every change at or before t; all ones if there is none.
  std::uint64_t at(const std::string& name, std::uint64_t t) const {
    const auto& timeline = of(name);
    auto after = std::upper_bound(timeline.begin(), timeline.end(), t,
                                  [](std::uint64_t time, const auto& c) { return time < c.first; });
    return after == timeline.begin() ? ~std::uint64_t{0} : std::prev(after)->second;
  }
  bool changes_at(const std::string& name, std::uint64_t t) const {
    for (const auto& c : of(name))
      if (c.first == t) return true;
    return false;
  }
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::uint64_t binary_value(const std::string& bits) {
  std::uint64_t value = 0;
  for (char c : bits) {
    if (c != '0' && c != '1') throw std::runtime_error("unexpected VCD value bit '" + bits + "'");
    value = value << 1 | static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

Vcd parse_vcd(const fs::path& path) {
  std::istringstream in(read_text(path));
  Vcd vcd;
  std::vector<std::string> scopes;
  std::string token;
  const auto skip_to_end = [&] {
    while (in >> token && token != "$end") {}
  };
  while (in >> token && token != "$enddefinitions") {
    if (token == "$scope") {
      std::string kind, name;
      in >> kind >> name;
      scopes.push_back(name);
      skip_to_end();
    } else if (token == "$upscope") {
      scopes.pop_back();
      skip_to_end();
    } else if (token == "$var") {
      std::string kind, id, ref;
      Var var;
      in >> kind >> var.width >> id >> ref;
      var.id = id;
      std::string name;
      for (const std::string& s : scopes) name += s + '.';
      name += ref;
      while (in >> token && token != "$end") name += token;  // the range, "[63:0]"
      vcd.vars[name] = var;
    } else if (token == "$timescale") {
      while (in >> token && token != "$end") vcd.timescale += token;
    } else {
      skip_to_end();  // $version, $comment, $date
    }
  }
  skip_to_end();
  std::uint64_t now = 0;
  while (in >> token) {
    if (token[0] == '#') {
      now = std::stoull(token.substr(1));
      vcd.times.push_back(now);
    } else if (token[0] == 'b') {
      std::string id;
      in >> id;
      vcd.changes[id].emplace_back(now, binary_value(token.substr(1)));
    } else if (token[0] == '0' || token[0] == '1') {
      vcd.changes[token.substr(1)].emplace_back(now, binary_value(token.substr(0, 1)));
    } else if (token != "$dumpvars" && token != "$end") {
      throw std::runtime_error("unexpected VCD token '" + token + "'");
    }
  }
  return vcd;
}

bool strictly_increasing(const std::vector<std::uint64_t>& times) {
  return std::adjacent_find(times.begin(), times.end(), std::greater_equal<>()) == times.end();
}

// vcd2fst is GTKWave's own converter: if it accepts the file, GTKWave loads it.
void expect_vcd2fst_accepts(const fs::path& vcd) {
  if (!fs::exists("/usr/bin/vcd2fst")) GTEST_SKIP() << "vcd2fst (package gtkwave) not installed";
  const fs::path fst = fs::path(vcd).replace_extension(".fst");
  const std::string command = "/usr/bin/vcd2fst '" + vcd.string() + "' '" + fst.string() +
                              "' > '" + fst.string() + ".out' 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << command;
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_text(fst.string() + ".out");
  EXPECT_GT(fs::file_size(fst), 0u);
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::istringstream in(read_text(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

// ---- The simulation ---------------------------------------------------------------------------

struct Transaction {
  unsigned initiator;
  int target;
  tlm::tlm_command command;
  std::uint64_t address;
  unsigned length;
  tlm::tlm_response_status response;
  sc_time start, end;
  sc_time reported;  // when the initiator reports it
};

struct Change {
  Tracer::Signal signal;
  sc_time at;
  std::uint64_t value;
  sc_time reported;
};

struct TextChange {
  Tracer::TextSignal signal;
  sc_time at;
  std::string text;
  sc_time reported;
};

constexpr int kDdr = 0, kSat = 1, kUnmapped = -1;
constexpr unsigned kCpu = 0, kDma = 1;
const sc_time kSmallEnd(300, SC_NS);
constexpr int kDecoupledTransactions = 30000;  // per decoupled bulk initiator
constexpr int kSyncingTransactions = 20000;

// Each initiator runs ahead of simulated time, so it reports transactions whose start lies in
// the future, and the cpu reports its 100 ns transaction before the dma its 50 ns one.
std::vector<Transaction> small_transactions() {
  using namespace tlm;
  const sc_time ns(1, SC_NS);
  return {
      {kCpu, kDdr, TLM_READ_COMMAND, 0x80000000, 4, TLM_OK_RESPONSE, 15 * ns, 35 * ns, 10 * ns},
      // Zero duration: busy must stay 0, the value signals must still change.
      {kCpu, kSat, TLM_WRITE_COMMAND, 0x40000010, 4, TLM_OK_RESPONSE, 45 * ns, 45 * ns, 10 * ns},
      {kCpu, kUnmapped, TLM_READ_COMMAND, 0xdead0000, 4, TLM_ADDRESS_ERROR_RESPONSE, 100 * ns,
       130 * ns, 10 * ns},
      {kDma, kDdr, TLM_WRITE_COMMAND, 0x80001000, 64, TLM_OK_RESPONSE, 50 * ns, 80 * ns, 20 * ns},
      // Back to back with the previous one: busy stays 1 through 80 ns.
      {kDma, kSat, TLM_READ_COMMAND, 0x40000000, 4, TLM_COMMAND_ERROR_RESPONSE, 80 * ns, 95 * ns,
       60 * ns},
  };
}

void report(Tracer& tracer, const Transaction& t) {
  tlm::tlm_generic_payload gp;
  gp.set_command(t.command);
  gp.set_address(t.address);
  gp.set_data_length(t.length);
  gp.set_response_status(t.response);
  tracer.transaction(t.initiator, t.target, gp, t.start, t.end);
}

struct Paths {
  fs::path vcd, log, gtkw;
};

Paths paths_in(const fs::path& dir, const std::string& stem) {
  return {dir / (stem + ".vcd"), dir / (stem + ".log"), dir / (stem + ".gtkw")};
}

struct BulkRecord {
  std::vector<Transaction> transactions;
  std::vector<Change> counter;  // changes of satvp.gen.counter in the order reported
  std::uintmax_t vcd_bytes_before_close = 0;
};

SC_MODULE(Stimulus) {
  Tracer& small;
  Tracer& bulk;
  std::vector<Change> small_changes;
  std::vector<TextChange> small_text_changes;
  Tracer::Signal bulk_counter_signal;
  BulkRecord record;

  SC_HAS_PROCESS(Stimulus);
  Stimulus(sc_module_name name, Tracer& small_tracer, Tracer& bulk_tracer)
      : sc_module(name), small(small_tracer), bulk(bulk_tracer) {
    SC_THREAD(small_initiator_cpu);
    SC_THREAD(small_initiator_dma);
    SC_THREAD(small_signals);
    SC_THREAD(small_texts);
    SC_THREAD(close_small);
    SC_THREAD(bulk_initiator_0);
    SC_THREAD(bulk_initiator_1);
    SC_THREAD(bulk_initiator_syncing);
    SC_THREAD(bulk_counter);
  }

  void wait_until(const sc_time& t) {
    if (t > sc_time_stamp()) wait(t - sc_time_stamp());
  }

  void report_small(unsigned initiator) {
    for (const Transaction& t : small_transactions()) {
      if (t.initiator != initiator) continue;
      wait_until(t.reported);
      report(small, t);
    }
  }
  void small_initiator_cpu() { report_small(kCpu); }
  void small_initiator_dma() { report_small(kDma); }

  void small_signals() {
    for (const Change& c : small_changes) {
      wait_until(c.reported);
      small.change(c.signal, c.at, c.value);
    }
  }

  void small_texts() {
    for (const TextChange& c : small_text_changes) {
      wait_until(c.reported);
      small.change_text(c.signal, c.at, c.text);
    }
  }

  void close_small() {
    wait(kSmallEnd);
    small.close();
  }

  // A decoupled initiator with a 1 us quantum: back-to-back transactions of 0..20 ns with gaps
  // of 1..5 ns, reported at the start of their quantum.
  void bulk_initiator(unsigned initiator, unsigned seed) {
    std::mt19937_64 random(seed);
    const sc_time quantum(1, SC_US);
    sc_time local = SC_ZERO_TIME;
    for (int i = 0; i < kDecoupledTransactions; ++i) {
      if (local >= quantum) {
        wait(local);
        local = SC_ZERO_TIME;
      }
      Transaction t{initiator,
                    static_cast<int>(random() % 3) - 1,
                    random() % 2 ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND,
                    random(),
                    static_cast<unsigned>(random() % 4096),
                    random() % 4 ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE,
                    {},
                    {},
                    sc_time_stamp()};
      local += sc_time(static_cast<double>(1 + random() % 5), SC_NS);
      t.start = sc_time_stamp() + local;
      local += sc_time(static_cast<double>(random() % 21), SC_NS);
      t.end = sc_time_stamp() + local;
      report(bulk, t);
      record.transactions.push_back(t);
    }
  }
  void bulk_initiator_0() { bulk_initiator(0, 1); }
  void bulk_initiator_1() { bulk_initiator(1, 2); }

  // What the bus does when a target waits inside b_transport: the start was taken before the
  // wait, so it is already in the past when the transaction is reported.
  void bulk_initiator_syncing() {
    std::mt19937_64 random(4);
    for (int i = 0; i < kSyncingTransactions; ++i) {
      Transaction t{2, kDdr, tlm::TLM_WRITE_COMMAND, random(), 8, tlm::TLM_OK_RESPONSE,
                    sc_time_stamp(), {}, {}};
      wait(static_cast<double>(random() % 31), SC_NS);
      t.end = t.reported = sc_time_stamp();
      report(bulk, t);
      record.transactions.push_back(t);
      wait(static_cast<double>(1 + random() % 5), SC_NS);
    }
  }

  // Changes reported in random order within each microsecond, several at the same time.
  void bulk_counter() {
    std::mt19937_64 random(3);
    for (int us = 0; us < 500; ++us) {
      for (int i = 0; i < 100; ++i) {
        const sc_time at = sc_time_stamp() + sc_time(static_cast<double>(random() % 1000), SC_NS);
        const std::uint64_t value = random() % 8;  // small, so that repeats get skipped
        bulk.change(bulk_counter_signal, at, value);
        record.counter.push_back(Change{bulk_counter_signal, at, value, sc_time_stamp()});
      }
      wait(1, SC_US);
    }
  }
};

struct Run {
  fs::path dir;
  Paths small, bulk;
  std::uint64_t small_transactions = 0, bulk_transactions = 0;
  BulkRecord bulk_record;
  int warnings = 0;
};

// The directory is named after the first test that runs, so that ctest's one-test processes
// never share files.
fs::path output_dir() {
  const auto* test = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(CESTVP_BINARY_DIR) / "test_vcd_output" / test->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<Change> small_changes(Tracer& tracer) {
  const Tracer::Signal state = tracer.declare("dma", "state", 4, {"IDLE", "FETCH", "READ", "WRITE"});
  const Tracer::Signal done = tracer.declare("irq", "dma_done", 1);
  const sc_time ns(1, SC_NS);
  return {
      {state, 50 * ns, 1, 5 * ns},
      {state, 80 * ns, 2, 5 * ns},
      {done, 95 * ns, 1, 70 * ns},
      {state, 90 * ns, 2, 70 * ns},   // no change: not written
      {state, 100 * ns, 3, 70 * ns},  // overridden at the same time
      {state, 100 * ns, 0, 70 * ns},
      {done, 140 * ns, 0, 70 * ns},
  };
}

// The firmware's phase. Reported at times no other small initiator reports at, so that the
// order of lines in the log is known.
std::vector<TextChange> small_text_changes(Tracer& tracer) {
  const Tracer::TextSignal phase = tracer.declare_text("firmware", "phase");
  const sc_time ns(1, SC_NS);
  return {
      {phase, 10 * ns, "boot", 5 * ns},                // code 1
      {phase, 40 * ns, "layer 3 conv2d FF", 5 * ns},   // code 2
      {phase, 60 * ns, "layer 3 conv2d FF", 30 * ns},  // the same text: nothing written
      {phase, 90 * ns, "dma-1d", 30 * ns},             // code 3
      {phase, 120 * ns, "layer 3 conv2d FF", 100 * ns},  // code 2 again
      {phase, 170 * ns, "dma\n2d", 100 * ns},          // code 4, "dma 2d"
      {phase, 200 * ns, "", 150 * ns},                 // none: code 0
  };
}

const Run& run() {
  static const Run result = [] {
    Run r;
    r.dir = output_dir();
    r.small = paths_in(r.dir, "small");
    r.bulk = paths_in(r.dir, "bulk");
    Tracer small({r.small.vcd.string(), r.small.log.string()});
    Tracer bulk({r.bulk.vcd.string(), r.bulk.log.string()});
    small.declare_targets({"ddr", "sat"});
    small.declare_initiator("cpu");
    small.declare_initiator("dma");
    bulk.declare_targets({"ddr", "sat"});
    bulk.declare_initiator("gen0");
    bulk.declare_initiator("gen1");
    bulk.declare_initiator("gen2");
    Stimulus stimulus("stimulus", small, bulk);
    stimulus.small_changes = small_changes(small);
    stimulus.small_text_changes = small_text_changes(small);
    stimulus.bulk_counter_signal = bulk.declare("gen", "counter", 16);
    sc_start();
    r.small_transactions = small.transactions();
    r.bulk_transactions = bulk.transactions();
    r.bulk_record = stimulus.record;
    r.bulk_record.vcd_bytes_before_close = fs::file_size(r.bulk.vcd);
    bulk.close();
    r.warnings = sc_report_handler::get_count(SC_WARNING);
    return r;
  }();
  return result;
}

std::uint64_t ps(double ns) { return static_cast<std::uint64_t>(ns * 1000); }

// ---- Tests: the hand-placed trace ---------------------------------------------------------------

const char* const kBusSignals[] = {"busy", "cmd[1:0]", "addr[63:0]",
                                   "len[31:0]", "resp[2:0]", "target[7:0]"};

TEST(TracerVcd, DeclaresHierarchicalSignalsWithWidths) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  EXPECT_EQ(vcd.timescale, "1ps");
  const std::map<std::string, unsigned> expected = {
      {"satvp.bus.cpu.busy", 1},       {"satvp.bus.cpu.cmd[1:0]", 2},
      {"satvp.bus.cpu.addr[63:0]", 64}, {"satvp.bus.cpu.len[31:0]", 32},
      {"satvp.bus.cpu.resp[2:0]", 3},  {"satvp.bus.cpu.target[7:0]", 8},
      {"satvp.bus.dma.busy", 1},       {"satvp.bus.dma.cmd[1:0]", 2},
      {"satvp.bus.dma.addr[63:0]", 64}, {"satvp.bus.dma.len[31:0]", 32},
      {"satvp.bus.dma.resp[2:0]", 3},  {"satvp.bus.dma.target[7:0]", 8},
      {"satvp.dma.state[3:0]", 4},     {"satvp.irq.dma_done", 1},
      {"satvp.firmware.phase[31:0]", 32},
  };
  ASSERT_EQ(vcd.vars.size(), expected.size());
  for (const auto& [name, width] : expected) {
    ASSERT_TRUE(vcd.vars.count(name)) << name;
    EXPECT_EQ(vcd.vars.at(name).width, width) << name;
  }
}

TEST(TracerVcd, TimestampsIncreaseAndEndAtTheEndOfTheRun) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  ASSERT_FALSE(vcd.times.empty());
  EXPECT_EQ(vcd.times.front(), 0u);
  EXPECT_TRUE(strictly_increasing(vcd.times));
  EXPECT_EQ(vcd.times.back(), ps(300));
}

TEST(TracerVcd, EverySignalStartsAtZero) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  for (const auto& [name, var] : vcd.vars) EXPECT_EQ(vcd.at(name, 0), 0u) << name;
}

TEST(TracerVcd, BusyCoversATransactionAndValuesHold) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  const std::string cpu = "satvp.bus.cpu.";
  EXPECT_EQ(vcd.at(cpu + "busy", ps(15) - 1), 0u);
  EXPECT_EQ(vcd.at(cpu + "busy", ps(15)), 1u);
  EXPECT_EQ(vcd.at(cpu + "busy", ps(35) - 1), 1u);
  EXPECT_EQ(vcd.at(cpu + "busy", ps(35)), 0u);
  EXPECT_EQ(vcd.at(cpu + "addr[63:0]", ps(15)), 0x80000000u);
  EXPECT_EQ(vcd.at(cpu + "addr[63:0]", ps(44)), 0x80000000u);
  EXPECT_EQ(vcd.at(cpu + "cmd[1:0]", ps(15)), 0u);
  EXPECT_EQ(vcd.at(cpu + "len[31:0]", ps(15)), 4u);
  EXPECT_EQ(vcd.at(cpu + "target[7:0]", ps(15)), 0u);
}

TEST(TracerVcd, ResponseAppearsAtTheEnd) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  const std::string cpu = "satvp.bus.cpu.";
  EXPECT_EQ(vcd.at(cpu + "resp[2:0]", ps(130) - 1), 0u);
  EXPECT_EQ(vcd.at(cpu + "resp[2:0]", ps(130)), 3u);  // ADDRESS_ERROR
  EXPECT_EQ(vcd.at(cpu + "target[7:0]", ps(100)), 0xFFu);
  EXPECT_EQ(vcd.at(cpu + "busy", ps(100)), 1u);
  EXPECT_EQ(vcd.at(cpu + "busy", ps(130)), 0u);
  EXPECT_EQ(vcd.at("satvp.bus.dma.resp[2:0]", ps(95)), 4u);  // COMMAND_ERROR
}

TEST(TracerVcd, ZeroDurationTransactionSetsValuesButNotBusy) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  const std::string cpu = "satvp.bus.cpu.";
  EXPECT_FALSE(vcd.changes_at(cpu + "busy", ps(45)));
  EXPECT_EQ(vcd.at(cpu + "busy", ps(45)), 0u);
  EXPECT_EQ(vcd.at(cpu + "addr[63:0]", ps(45)), 0x40000010u);
  EXPECT_EQ(vcd.at(cpu + "cmd[1:0]", ps(45)), 1u);
  EXPECT_EQ(vcd.at(cpu + "target[7:0]", ps(45)), 1u);
}

TEST(TracerVcd, BackToBackTransactionsKeepBusyHigh) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  const std::string dma = "satvp.bus.dma.";
  EXPECT_EQ(vcd.at(dma + "busy", ps(50)), 1u);
  EXPECT_FALSE(vcd.changes_at(dma + "busy", ps(80)));
  EXPECT_EQ(vcd.at(dma + "busy", ps(95)), 0u);
  EXPECT_EQ(vcd.at(dma + "addr[63:0]", ps(80) - 1), 0x80001000u);
  EXPECT_EQ(vcd.at(dma + "addr[63:0]", ps(80)), 0x40000000u);
  EXPECT_EQ(vcd.at(dma + "len[31:0]", ps(50)), 64u);
}

TEST(TracerVcd, SignalChangesLastOneWinsAndRepeatsAreSkipped) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  using Timeline = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  EXPECT_EQ(vcd.of("satvp.dma.state[3:0]"),
            (Timeline{{0, 0}, {ps(50), 1}, {ps(80), 2}, {ps(100), 0}}));
  EXPECT_EQ(vcd.of("satvp.irq.dma_done"), (Timeline{{0, 0}, {ps(95), 1}, {ps(140), 0}}));
}

TEST(TracerVcd, Vcd2FstAcceptsTheTrace) { expect_vcd2fst_accepts(run().small.vcd); }

TEST(TracerVcd, SaveFileNamesTheDumpAndEverySignal) {
  const std::string gtkw = read_text(run().small.gtkw);
  ASSERT_FALSE(gtkw.empty());
  EXPECT_NE(gtkw.find("[dumpfile] \"" + fs::absolute(run().small.vcd).string() + "\""),
            std::string::npos);
  for (const char* initiator : {"cpu", "dma"}) {
    EXPECT_NE(gtkw.find(std::string("-bus.") + initiator + "\n"), std::string::npos);
    for (const char* signal : kBusSignals)
      EXPECT_NE(gtkw.find(std::string("satvp.bus.") + initiator + '.' + signal + '\n'),
                std::string::npos)
          << initiator << '.' << signal;
  }
  EXPECT_NE(gtkw.find("satvp.dma.state[3:0]\n"), std::string::npos);
  EXPECT_NE(gtkw.find("satvp.irq.dma_done\n"), std::string::npos);
  // The filters the save file refers to exist and name the codes.
  for (const char* filter : {"cmd", "resp", "target"}) {
    const fs::path path = run().dir / (std::string("small.") + filter + ".filter");
    EXPECT_NE(gtkw.find(fs::absolute(path).string()), std::string::npos) << filter;
    EXPECT_TRUE(fs::exists(path)) << path;
  }
  EXPECT_NE(read_text(run().dir / "small.target.filter").find("1 sat\n255 unmapped\n"),
            std::string::npos);
  // A signal declared with value names is shown through a filter of its own.
  const fs::path state_filter = run().dir / "small.dma.state.filter";
  EXPECT_EQ(read_text(state_filter), "0 IDLE\n1 FETCH\n2 READ\n3 WRITE\n");
  EXPECT_NE(gtkw.find("^4 " + fs::absolute(state_filter).string() + "\n+{state} satvp.dma.state[3:0]\n"),
            std::string::npos);
}

TEST(TracerVcd, LogHasOneLinePerTransaction) {
  std::vector<std::string> lines;  // without the comment lines (header, phases)
  for (const std::string& line : lines_of(run().small.log))
    if (line[0] != '#') lines.push_back(line);
  ASSERT_EQ(lines.size(), small_transactions().size());
  EXPECT_EQ(run().small_transactions, small_transactions().size());
  // Written as reported: the cpu's 100 ns transaction comes before the dma's.
  const std::vector<std::string> expected = {"100.000", "ns",          "cpu",
                                             "->",      "unmapped",    "R",
                                             "0x00000000dead0000",     "4",
                                             "ADDRESS_ERROR",          "30.000",
                                             "ns"};
  EXPECT_EQ(fields_of(lines[2]), expected);
  EXPECT_EQ(fields_of(lines[1])[5], "W");
  EXPECT_EQ(fields_of(lines[1])[9], "0.000");
  EXPECT_EQ(fields_of(lines[4])[8], "COMMAND_ERROR");
}

// ---- Tests: the firmware phase, a text signal -----------------------------------------------

const char* const kPhase = "satvp.firmware.phase[31:0]";

TEST(TracerVcdText, ValuesNumberTheTextsInOrderOfFirstUse) {
  const Vcd vcd = parse_vcd(run().small.vcd);
  using Timeline = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  EXPECT_EQ(vcd.of(kPhase), (Timeline{{0, 0},
                                      {ps(10), 1},
                                      {ps(40), 2},
                                      {ps(90), 3},
                                      {ps(120), 2},
                                      {ps(170), 4},
                                      {ps(200), 0}}));
}

// Reads the filter as GTKWave does: the first word is the value as shown (decimal), the rest
// of the line, without surrounding blanks, the text.
std::map<std::uint64_t, std::string> read_filter(const fs::path& path) {
  std::map<std::uint64_t, std::string> texts;
  for (const std::string& line : lines_of(path)) {
    const std::size_t space = line.find(' ');
    const std::size_t text = line.find_first_not_of(' ', space);
    if (space == std::string::npos || text == std::string::npos)
      throw std::runtime_error("filter line without a text: '" + line + "'");
    texts[std::stoull(line.substr(0, space))] = line.substr(text);
  }
  return texts;
}

TEST(TracerVcdText, FilterFileNamesEveryValue) {
  const fs::path filter = run().dir / "small.firmware.phase.filter";
  EXPECT_EQ(read_text(filter), "0 -\n1 boot\n2 layer 3 conv2d FF\n3 dma-1d\n4 dma 2d\n");
  // What GTKWave shows at a few times: the VCD's value through the filter.
  const Vcd vcd = parse_vcd(run().small.vcd);
  const std::map<std::uint64_t, std::string> texts = read_filter(filter);
  const std::vector<std::pair<double, std::string>> shown = {
      {9.999, "-"},   {10, "boot"},    {39.999, "boot"},   {40, "layer 3 conv2d FF"},
      {65, "layer 3 conv2d FF"},       {90, "dma-1d"},     {119.999, "dma-1d"},
      {120, "layer 3 conv2d FF"},      {170, "dma 2d"},    {200, "-"},  {300, "-"}};
  for (const auto& [ns, text] : shown) EXPECT_EQ(texts.at(vcd.at(kPhase, ps(ns))), text) << ns;
}

TEST(TracerVcdText, SaveFileShowsThePhaseFirstThroughItsFilter) {
  const std::string gtkw = read_text(run().small.gtkw);
  const std::string filter = fs::absolute(run().dir / "small.firmware.phase.filter").string();
  // The first group is the firmware's; filters 1-3 are the bus codes, 4 dma.state's.
  const std::string group = "@800200\n-firmware\n@2024\n^5 " + filter +
                            "\n+{phase} satvp.firmware.phase[31:0]\n@1000200\n-firmware\n";
  EXPECT_NE(gtkw.find(group), std::string::npos) << gtkw;
  EXPECT_EQ(gtkw.find("@800200\n"), gtkw.find(group));
  EXPECT_NE(gtkw.find("[*]   firmware.phase: text; value N shows line \"N text\" of "
                      "<trace>.firmware.phase.filter"),
            std::string::npos);
}

// Phase lines are comments, their time in the start column, written in the order reported
// and only when the text changes.
TEST(TracerVcdText, LogHasALineWhenThePhaseChanges) {
  const std::vector<std::string> lines = lines_of(run().small.log);
  const std::vector<std::string> expected = {
      "# start ns  initiator -> target  R|W|-  address  length  response  duration ns",
      "#     10.000 ns  firmware.phase  boot",
      "#     40.000 ns  firmware.phase  layer 3 conv2d FF",
      "      15.000 ns  cpu -> ddr  R  0x0000000080000000  4  OK  20.000 ns",
      "      45.000 ns  cpu -> sat  W  0x0000000040000010  4  OK  0.000 ns",
      "     100.000 ns  cpu -> unmapped  R  0x00000000dead0000  4  ADDRESS_ERROR  30.000 ns",
      "      50.000 ns  dma -> ddr  W  0x0000000080001000  64  OK  30.000 ns",
      "#     90.000 ns  firmware.phase  dma-1d",
      "      80.000 ns  dma -> sat  R  0x0000000040000000  4  COMMAND_ERROR  15.000 ns",
      "#    120.000 ns  firmware.phase  layer 3 conv2d FF",
      "#    170.000 ns  firmware.phase  dma 2d",
      "#    200.000 ns  firmware.phase  -",
  };
  EXPECT_EQ(lines, expected);
}

// Declared once the VCD header is out, a text signal cannot join the VCD but still reaches the
// log.
TEST(TracerVcdText, TextSignalDeclaredLateStillLogs) {
  const fs::path dir = run().dir;
  Tracer tracer({(dir / "text_late.vcd").string(), (dir / "text_late.log").string()});
  const Tracer::Signal counter = tracer.declare("gen", "counter", 16);
  const sc_time base = sc_time_stamp();
  // Enough changes to make the tracer flush, which writes the header.
  for (int i = 0; i < (1 << 16); ++i) tracer.change(counter, base + sc_time(i, SC_NS), i % 2);
  const int warnings = sc_report_handler::get_count(SC_WARNING);
  const Tracer::TextSignal phase = tracer.declare_text("firmware", "phase");
  EXPECT_EQ(sc_report_handler::get_count(SC_WARNING), warnings + 1);
  ASSERT_TRUE(phase.valid());
  tracer.change_text(phase, base, "late");
  tracer.close();
  EXPECT_TRUE(tracer.failures().empty());
  EXPECT_EQ(parse_vcd(dir / "text_late.vcd").vars.count(kPhase), 0u);
  EXPECT_FALSE(fs::exists(dir / "text_late.firmware.phase.filter"));
  EXPECT_EQ(fields_of(lines_of(dir / "text_late.log").back()).back(), "late");
}

TEST(TracerVcdText, TextSignalWithoutVcdStillLogs) {
  const fs::path log = run().dir / "text_log_only.log";
  {
    Tracer tracer({"", log.string()});
    const Tracer::TextSignal phase = tracer.declare_text("firmware", "phase");
    ASSERT_TRUE(phase.valid());
    const sc_time base = sc_time_stamp();
    tracer.change_text(phase, base + sc_time(1, SC_NS), "a b");
    tracer.change_text(phase, base + sc_time(2, SC_NS), "a b");
    tracer.change_text(phase, base + sc_time(3, SC_NS), "c");
  }
  const std::vector<std::string> lines = lines_of(log);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(fields_of(lines[1]), (std::vector<std::string>{"#", fields_of(lines[1])[1], "ns",
                                                           "firmware.phase", "a", "b"}));
  EXPECT_EQ(fields_of(lines[2]).back(), "c");
  EXPECT_EQ(std::stod(fields_of(lines[2])[1]) - std::stod(fields_of(lines[1])[1]), 2.0);
}

// ---- Tests: the bulk trace, flushed while the simulation ran ------------------------------------

TEST(TracerVcdBulk, FlushesDuringTheRunWithoutLateChanges) {
  EXPECT_GT(run().bulk_record.vcd_bytes_before_close, 0u);
  EXPECT_EQ(run().warnings, 0);
  EXPECT_EQ(run().bulk_transactions, 2u * kDecoupledTransactions + kSyncingTransactions);
}

TEST(TracerVcdBulk, TimestampsIncrease) {
  EXPECT_TRUE(strictly_increasing(parse_vcd(run().bulk.vcd).times));
}

TEST(TracerVcdBulk, TransactionsReadBack) {
  const Vcd vcd = parse_vcd(run().bulk.vcd);
  for (const Transaction& t : run().bulk_record.transactions) {
    const std::string s = "satvp.bus.gen" + std::to_string(t.initiator) + '.';
    const std::uint64_t start = t.start.value(), end = t.end.value();
    ASSERT_EQ(vcd.at(s + "addr[63:0]", start), t.address) << start;
    ASSERT_EQ(vcd.at(s + "len[31:0]", start), t.length) << start;
    ASSERT_EQ(vcd.at(s + "target[7:0]", start), t.target < 0 ? 0xFFu : unsigned(t.target));
    ASSERT_EQ(vcd.at(s + "busy", start), end > start ? 1u : 0u) << start;
    ASSERT_EQ(vcd.at(s + "busy", end), 0u) << end;  // gaps of at least 1 ns follow
    ASSERT_EQ(vcd.at(s + "resp[2:0]", end), t.response == tlm::TLM_OK_RESPONSE ? 0u : 3u);
  }
}

// The timeline a correct writer produces from changes reported in any order: sorted by time,
// the last reported change at each time, repeats dropped.
std::vector<std::pair<std::uint64_t, std::uint64_t>> expected_timeline(
    std::vector<Change> changes) {
  std::stable_sort(changes.begin(), changes.end(),
                   [](const Change& a, const Change& b) { return a.at < b.at; });
  std::vector<std::pair<std::uint64_t, std::uint64_t>> timeline{{0, 0}};
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (i + 1 < changes.size() && changes[i + 1].at == changes[i].at) continue;
    if (changes[i].value != timeline.back().second)
      timeline.emplace_back(changes[i].at.value(), changes[i].value);
  }
  return timeline;
}

TEST(TracerVcdBulk, OutOfOrderChangesReadBackExactly) {
  const Vcd vcd = parse_vcd(run().bulk.vcd);
  EXPECT_EQ(vcd.of("satvp.gen.counter[15:0]"), expected_timeline(run().bulk_record.counter));
}

TEST(TracerVcdBulk, Vcd2FstAcceptsTheTrace) { expect_vcd2fst_accepts(run().bulk.vcd); }

// ---- Tests without simulated time passing -----------------------------------------------------

void feed(Tracer& tracer) {
  tracer.declare_targets({"ddr"});
  const unsigned cpu = tracer.declare_initiator("cpu");
  const Tracer::Signal irq = tracer.declare("irq", "line", 1);
  const Tracer::TextSignal phase = tracer.declare_text("firmware", "phase");
  const sc_time base = sc_time_stamp();
  for (int i = 0; i < 1000; ++i) {
    Transaction t{cpu,
                  i % 3 - 1,
                  tlm::TLM_WRITE_COMMAND,
                  0x1000u + static_cast<unsigned>(i),
                  4,
                  tlm::TLM_OK_RESPONSE,
                  base + sc_time(10.0 * (1000 - i), SC_NS),
                  base + sc_time(10.0 * (1000 - i) + 5, SC_NS),
                  {}};
    report(tracer, t);
    tracer.change(irq, base + sc_time(7.0 * i, SC_NS), static_cast<std::uint64_t>(i % 2));
    if (i % 100 == 0) tracer.change_text(phase, base + sc_time(7.0 * i, SC_NS), "layer " + std::to_string(i % 300));
  }
}

TEST(TracerVcd, SameEventsGiveByteIdenticalFiles) {
  const fs::path dir = run().dir;
  for (const char* stem : {"same_a", "same_b"}) {
    Tracer tracer({(dir / stem).string() + ".vcd", (dir / stem).string() + ".log"});
    feed(tracer);
  }
  EXPECT_EQ(read_text(dir / "same_a.vcd"), read_text(dir / "same_b.vcd"));
  EXPECT_EQ(read_text(dir / "same_a.log"), read_text(dir / "same_b.log"));
  EXPECT_EQ(read_text(dir / "same_a.firmware.phase.filter"), read_text(dir / "same_b.firmware.phase.filter"));
  EXPECT_TRUE(strictly_increasing(parse_vcd(dir / "same_a.vcd").times));
}

TEST(TracerVcd, DisabledTracerOnlyCounts) {
  Tracer tracer({"", ""});
  EXPECT_FALSE(tracer.vcd_enabled());
  EXPECT_FALSE(tracer.log_enabled());
  feed(tracer);
  EXPECT_EQ(tracer.transactions(), 1000u);
  EXPECT_FALSE(tracer.declare("irq", "other", 1).valid());
  EXPECT_FALSE(tracer.declare_text("firmware", "other").valid());
  tracer.close();
  tracer.close();
}

TEST(TracerVcd, UnwritablePathIsReportedWithItsName) {
  try {
    Tracer tracer({"/nonexistent-dir/trace.vcd", ""});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/trace.vcd"), std::string::npos);
  }
}

// ---- VcdWriter alone ----------------------------------------------------------------------------

TEST(VcdWriter, ScopesNestInDeclarationOrderAndValuesAreMasked) {
  const fs::path path = run().dir / "writer_scopes.vcd";
  {
    cestvp::VcdWriter writer(path.string(), "top");
    const auto x = writer.declare("a.b", "x", 4);
    writer.declare("c", "y", 1);
    writer.declare("a", "z", 1);
    EXPECT_EQ(writer.full_name(x), "top.a.b.x[3:0]");
    writer.change(x, 10, 0x1F);
    writer.close(20);
  }
  const std::string text = read_text(path);
  EXPECT_NE(text.find("$scope module top $end\n"
                      "$scope module a $end\n"
                      "$var wire 1 # z $end\n"
                      "$scope module b $end\n"
                      "$var wire 4 ! x [3:0] $end\n"
                      "$upscope $end\n"
                      "$upscope $end\n"
                      "$scope module c $end\n"),
            std::string::npos)
      << text;
  const Vcd vcd = parse_vcd(path);
  EXPECT_EQ(vcd.at("top.a.b.x[3:0]", 10), 0xFu);
  EXPECT_EQ(vcd.times.back(), 20u);
}

// A change for a time already written (a model broke the promise) lands at the last written
// time, so the file stays loadable.
TEST(VcdWriter, LateChangeIsMovedToTheLastWrittenTime) {
  const fs::path path = run().dir / "writer_late.vcd";
  cestvp::VcdWriter writer(path.string(), "top");
  const auto s = writer.declare("", "s", 8);
  writer.change(s, 100, 1);
  writer.flush(200);
  writer.change(s, 50, 2);
  writer.close(300);
  EXPECT_EQ(writer.late_changes(), 1u);
  const Vcd vcd = parse_vcd(path);
  EXPECT_TRUE(strictly_increasing(vcd.times));
  EXPECT_EQ(vcd.at("top.s[7:0]", 100), 2u);
  expect_vcd2fst_accepts(path);
}

}  // namespace
