// Every error has one form (Reliability II, class 7): `satvp: error: <what>; expected ...` on one
// line, exit 2, blaming what the user wrote. Here: the escaping every UserError goes through,
// numbers in messages, YAML files with more than one document or with control characters, and
// satvp's command line, run as a user runs it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "config/units.h"
#include "config/user_error.h"
#include "config/yaml_override.h"
#include "config/yaml_reader.h"
#include "loader/workload.h"
#include "satvp_command.h"
#include "test_files.h"

namespace cestvp {
namespace {

using test::error_of;
using test::kSatvp;
using test::kSource;
using test::write_file;

// A string literal with its NULs.
template <std::size_t N>
std::string bytes(const char (&text)[N]) {
  return std::string(text, N - 1);
}

// ---------------------------------------------------------------------------- escaping

TEST(Printable, EscapesControlCharactersAndBytesThatAreNotUtf8) {
  // Each expected text written from the rule in user_error.h.
  EXPECT_EQ(printable(bytes("a\0b")), "a\\x00b");
  EXPECT_EQ(printable("one\ntwo\tthree\rfour"), "one\\ntwo\\tthree\\rfour");
  EXPECT_EQ(printable("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  EXPECT_EQ(printable("\x01\x1f"), "\\x01\\x1f");
  EXPECT_EQ(printable("dens\xff"), "dens\\xff");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                          // a sequence cut short
  EXPECT_EQ(printable("\xc3(x"), "\\xc3(x");                      // a lead byte without its continuation
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                 // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");        // a UTF-16 surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\x80"), "\\x80");                          // a lone continuation byte
  EXPECT_EQ(printable("a\xc2\x9b" "b"), "a\\u009bb");             // C1 CSI, a terminal escape too
  EXPECT_EQ(printable("\xc2\x85"), "\\u0085");                    // NEL, a line break to some
  EXPECT_EQ(printable("x\xe2\x80\xa8y"), "x\\u2028y");            // line separator
  EXPECT_EQ(printable("\xe2\x80\xae" "cba"), "\\u202ecba");       // right-to-left override
  EXPECT_EQ(printable("\xe2\x81\xa6"), "\\u2066");                // left-to-right isolate
  // Text that prints as itself stays: UTF-8 of every length, backslashes, quotes.
  for (const char* text : {"caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x98\x80", "C:\\dir\\x00", "'a' \"b\"", ""})
    EXPECT_EQ(printable(text), text);
}

TEST(Printable, OutputIsPrintableAndEscapingTwiceChangesNothing) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 24);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (int n = length(random); n > 0; --n) text += static_cast<char>(byte(random));
    const std::string once = printable(text);
    for (const char c : once) {
      const unsigned char b = static_cast<unsigned char>(c);
      ASSERT_TRUE(b >= 0x20 && b != 0x7F) << once;
    }
    ASSERT_EQ(printable(once), once) << once;
  }
}

TEST(UserErrorMessage, IsWholeAndOnOneLine) {
  const UserError error(bytes("w.yaml:1:7: mode: found 'a\0b\nc'; expected true or false"));
  EXPECT_STREQ(error.what(), "w.yaml:1:7: mode: found 'a\\x00b\\nc'; expected true or false");
}

// ---------------------------------------------------------------------------- numbers

TEST(Units, ComputedValuesDisplayWithoutNoise) {
  // The inputs are not the decimals they print as: the last bits are noise. SystemC's
  // sc_time::to_seconds() of 500 ns is 500000 ps x 1000 fs x 1e-15.
  ASSERT_NE(500000 * 1000.0 * 1e-15, 500e-9);
  ASSERT_NE(0.1 + 0.2, 0.3);
  ASSERT_NE(180e6 * 1.1, 198e6);
  EXPECT_EQ(display_quantity(Quantity::time, 500000 * 1000.0 * 1e-15), "500 ns");
  EXPECT_EQ(display_quantity(Quantity::time, 0.1 + 0.2), "300 ms");
  EXPECT_EQ(display_quantity(Quantity::frequency, 180e6 * 1.1), "198 MHz");
  EXPECT_EQ(display_quantity(Quantity::time, 1.0 / 3), "333.333333333333 ms");  // 15 digits
  EXPECT_EQ(display_quantity(Quantity::time, 1e30), "1e30 s");
  // What files hold stays exact: the dump reloads bit for bit.
  EXPECT_EQ(format_quantity(Quantity::time, 500000 * 1000.0 * 1e-15), "500.0000000000001 ns");
  EXPECT_EQ(format_quantity(Quantity::time, 1.0 / 3), "333.3333333333333 ms");
}

// The resolved workload holds timeouts in whole nanoseconds; written as seconds they were
// 7000 x 1e-9 = 7.000000000000001e-06 s, "7.000000000000001 us" in workload.yaml.
TEST(Units, ResolvedWorkloadTimeoutsAreWhatTheFileSaid) {
  for (const char* timeout : {"7 us", "1 us", "500 us", "1.1 ms"}) {
    const Workload w = load_workload(kSource + "/workloads/bringup.yaml",
                                     parse_overrides({std::string("bringup.timeout=") + timeout}));
    const std::string yaml = to_yaml(w);
    EXPECT_NE(yaml.find(std::string("  timeout: ") + timeout + "\n"), std::string::npos) << yaml;
  }
}

TEST(Units, HugeAndTinyValuesAreNumbersWithAUnit) {
  EXPECT_EQ(format_quantity(Quantity::time, 1e30), "1e30 s");
  EXPECT_EQ(format_quantity(Quantity::time, 1.5e25), "1.5e25 s");
  EXPECT_EQ(format_quantity(Quantity::time, 1e21), "1e21 s");
  EXPECT_EQ(format_quantity(Quantity::time, 1e20), "100000000000000000000 s");  // 21 digits
  EXPECT_EQ(format_quantity(Quantity::time, 1e-18), "0.000001 ps");
  EXPECT_EQ(format_quantity(Quantity::time, 1e-19), "1e-7 ps");
  EXPECT_EQ(format_quantity(Quantity::frequency, 2.5e-9), "2.5e-9 Hz");
  for (const double value : {1e30, 1.5e25, 1e21, 1e-19, 2.5e-9, 1e300})
    EXPECT_EQ(parse_quantity(Quantity::time, format_quantity(Quantity::time, value)), value) << value;
}

TEST(Units, ReadsNumbersWithAnExponent) {
  EXPECT_EQ(parse_quantity(Quantity::time, "1e30 s"), 1e30);
  EXPECT_EQ(parse_quantity(Quantity::time, "2.5e-3 s"), 2.5e-3);
  EXPECT_EQ(parse_quantity(Quantity::time, "2.5e-3s"), 2.5e-3);
  EXPECT_EQ(parse_quantity(Quantity::frequency, "1E3 Hz"), 1000.0);
  EXPECT_EQ(parse_quantity(Quantity::frequency, "1e+3 kHz"), 1e6);
  EXPECT_EQ(parse_quantity(Quantity::bandwidth, "1.92e1 GB/s"), 19.2e9);  // one rounding, as "19.2 GB/s"
  EXPECT_EQ(parse_size("1e3 B"), 1000u);
  EXPECT_EQ(parse_size("1.5e3 B"), 1500u);
  EXPECT_EQ(parse_size("4e0 MiB"), 4u << 20);
  const auto size_error = [](const char* text) {
    try {
      parse_size(text);
    } catch (const ValueError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(size_error("1e-3 KiB"), "'1e-3 KiB' is not a whole number of KiB");
  EXPECT_EQ(size_error("1.5 KiB"), "'1.5 KiB' is not a whole number of KiB");
  EXPECT_EQ(size_error("1e20 B"), "'1e20 B' does not fit in 64 bits");
  EXPECT_EQ(size_error("1e999999999 B"), "'1e999999999 B' does not fit in 64 bits");
  EXPECT_EQ(size_error("1e99999999999 B"), "'1e99999999999 B' does not fit in 64 bits");
}

// ---------------------------------------------------------------------------- YAML files

TEST(YamlErrors, ASecondDocumentIsNamedWhereItStarts) {
  const std::string expected =
      ": a second YAML document starts here; expected one document per file (a satvp file is one mapping)";
  std::string path = write_file("two.yaml", "a: 1\nb: 2\n---\nc: 3\n");
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":3:1" + expected);
  path = write_file("explicit.yaml", "---\na: 1\n--- # again\na: 2\n");
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":3:1" + expected);
  path = write_file("ended.yaml", "a: 1\n...\nb: 2\n");  // `...` ends the first; b starts another
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":3:1" + expected);
  path = write_file("empty_second.yaml", "a: 1\n---\n");
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":2:1" + expected);
  // One document, with its markers, is a file.
  for (const char* one : {"---\na: 1\n", "a: 1\n...\n", "# x\n--- # y\na: 1\n...\n# z\n"}) {
    path = write_file("one.yaml", one);
    EXPECT_EQ(load_yaml(path).map().get("a").integer<unsigned>({0, 9}), 1u) << one;
  }
}

TEST(YamlErrors, ControlCharactersAreNamedWhereTheyAre) {
  const std::string expected =
      " in the text; expected printable text (YAML allows tab, line feed and carriage return)";
  std::string path = write_file("ctrl.yaml", "a: 1\nb:\n  c: x\x01y\n");
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":3:7: b.c: control character \\x01" + expected);
  path = write_file("nul.yaml", bytes("a: b\0c\n"));
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":1:5: a: control character \\x00" + expected);
  path = write_file("del.yaml", "# \x7f\na: 1\n");
  EXPECT_EQ(error_of([&] { load_yaml(path); }), path + ":1:3: control character \\x7f" + expected);
  // Tab, CR (CRLF line ends) and UTF-8 are text.
  path = write_file("text.yaml", "a: \"x\ty\"\r\nb: caf\xc3\xa9\r\n");
  YamlMap map = load_yaml(path).map();
  EXPECT_EQ(map.get("a").string(), "x\ty");
  EXPECT_EQ(map.get("b").string(), "caf\xc3\xa9");
}

TEST(YamlErrors, ValuesWithControlCharactersAreQuotedEscaped) {
  // YAML escapes put a NUL, a newline and a tab into the value itself.
  const std::string path = write_file("escaped.yaml", "mode: \"a\\0b\\nc\\td\"\n");
  EXPECT_EQ(error_of([&] { load_yaml(path).map().get("mode").boolean(); }),
            path + ":1:7: mode: found 'a\\x00b\\nc\\td'; expected true or false");
}

// ---------------------------------------------------------------------------- satvp

struct Output {
  int exit_code;
  std::string text;  // stdout and stderr, every byte (NULs too)
};

Output satvp(const std::string& args) {
  Output out{-1, {}};
  FILE* pipe = popen(("cd " + kSource + " && " + kSatvp + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.text.append(buffer, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Exit 2 and the whole output one line, `satvp: error: ` then `start`, with "; expected".
void expect_one_error_line(const std::string& args, const std::string& start) {
  const Output out = satvp(args);
  EXPECT_EQ(out.exit_code, 2) << args << "\n" << out.text;
  EXPECT_EQ(out.text.find('\0'), std::string::npos) << args;
  EXPECT_EQ(out.text.find('\n'), out.text.size() - 1) << args << "\n" << out.text;
  EXPECT_EQ(out.text.rfind("satvp: error: " + start, 0), 0u) << args << "\n" << out.text;
  EXPECT_NE(out.text.find("; expected "), std::string::npos) << args << "\n" << out.text;
}

// Every subcommand with bad options. The message names what was written (the misspelt option,
// the value, the subcommand), never an option the user did not give.
TEST(SatvpErrors, CommandLineErrorsHaveTheOneForm) {
  const std::string bringup = " --workload workloads/bringup.yaml --out " + std::string(CESTVP_BINARY_DIR) +
                              "/test-runs/cli-errors";
  const std::string mlp = " --workload workloads/fashion_mnist_mlp.yaml";
  const struct {
    std::string args;
    std::string start;
  } cases[] = {
      {"", "no subcommand; expected one of run, job, compare, sweep, host-costs, import (satvp --help)"},
      {"rnu" + bringup, "rnu: unknown subcommand (did you mean 'run'?); expected one of run, job, compare, sweep, host-costs, import"},
      {"--workload x run", "--workload: an option before the subcommand; expected a subcommand first: "},
      {"x run" + bringup, "x: unexpected argument; expected satvp run [options]"},
      // CLI11 said "--workload is required" for these two: it checks required options first.
      {"run --wrkload workloads/bringup.yaml",
       "--wrkload: unknown option of satvp run (did you mean '--workload'?); expected one of "},
      {"run workloads/bringup.yaml", "workloads/bringup.yaml: unexpected argument to satvp run; expected options"},
      {"run --workload", "--workload: missing value; expected --workload TEXT"},
      {"run --workload --mode timing", "--workload: missing value (the next argument, --mode, is an option); "},
      {"run --mode fast" + bringup,
       "--mode: 'fast' is not a choice; expected one of functional, bit-accurate, timing"},
      {"run --log-level loud" + bringup, "--log-level: 'loud' is not a choice; expected one of error, warning, info, debug"},
      {"run --workload a.yaml --workload b.yaml", "--workload: given 2 times (a.yaml, b.yaml); expected it once"},
      {"run --set bringup.rows=8 --set bringup.rows=16" + bringup,
       "--set bringup.rows=16: the key is also set by --set bringup.rows=8; expected each key set once"},
      {"run --stop-on-fault=maybe" + bringup,
       "--stop-on-fault: 'maybe' is not a flag's value; expected --stop-on-fault alone, or =true or =false"},
      {"run --cpu arm" + bringup, "--cpu: 'arm' is not a choice; expected one of native, rv64"},
      {"run --cpu native --gdb 1234" + bringup,
       "--gdb 1234: GDB debugs the firmware ELF on the RV64 core; expected --cpu rv64"},
      {"run --cpu rv64 --gdb 99999" + bringup, "--gdb 99999: '99999' is not a port number (0-65535); expected PORT or "},
      {"run --cpu rv64 --gdb :1234" + bringup, "--gdb :1234: the address is empty; expected PORT or ADDRESS:PORT"},
      {"run --cpu rv64 --gdb nowhere:1234" + bringup, "--gdb nowhere:1234: GDB server: cannot listen on nowhere:1234: not an IP address"},
      {"run --cpu rv64 --mode timing" + bringup, "--mode timing: a timing run skips the firmware's host work"},
      {"run --max-sim-time '1e30 s'" + bringup,
       "--max-sim-time 1e30 s: '1e30 s' is out of range; expected a time from 0 s to 10000000 s with a unit"},
      {"job --rows abc", "--rows: 'abc' is not a whole number; expected a whole number from 1 to 16777216"},
      {"job --rows 99999999999", "--rows: '99999999999' is out of range; expected a whole number from 1 to 16777216"},
      {"job --engine gpu", "--engine: 'gpu' is not a choice; expected one of stce, osre, wuve"},
      {"job --op gem --rows 4 --cols 4 --depth 4", "--op: 'gem' is not a choice (did you mean 'gemm'?); "},
      {"job --engine osre --depth 3 --rows 4 --cols 4", "--depth: not used by a job of --engine osre; expected --depth only with --op gemm"},
      {"job --rows 4 --cols 4", "job: --depth is required: a GEMM needs --rows, --cols and --depth (M, N, K); expected each from 1 to 16777216"},
      {"job --rows 4 --cols 4 --depth 4 --nm 2:64", "--nm 2:64: M = 64 is larger than 32; expected N:M with 1 <= N <= M <= 32, e.g. 2:8"},
      {"job --frob", "--frob: unknown option of satvp job; expected one of --platform, --engine, "},
      {"compare", "compare: --workload is required; expected --workload TEXT (Training workload YAML)"},
      {"compare -j x" + mlp, "--jobs: 'x' is not a whole number; expected a whole number from 0 to 4294967295"},
      {"compare --schemes dense,fast" + mlp, "--schemes dense,fast: unknown scheme 'fast'; expected "},
      {"compare --workload workloads/bringup.yaml",
       "workloads/bringup.yaml:7:10: program: compare runs training workloads, not bringup; expected program: train"},
      {"compare --frob" + mlp, "--frob: unknown option of satvp compare; expected one of --workload, --set, "},
      {"sweep", "sweep: --workload is required; expected --workload FILE (a training workload YAML), or --collect DIR"},
      {"sweep --emit slurmm" + mlp, "--emit: 'slurmm' is not a choice (did you mean 'slurm'?); expected one of slurm, parallel"},
      {"sweep" + mlp + " -j", "--jobs: missing value; expected --jobs UINT"},
      {"import", "import: MODEL is required; expected MODEL (The ONNX model (torch.onnx.export, "},
      {"import a.onnx b.onnx", "b.onnx: unexpected argument to satvp import; expected options"},
      {"import --scheme bdwpp a.onnx", "--scheme: 'bdwpp' is not a choice (did you mean 'bdwp'?); expected one of dense, srste, sdgp, bdwp"},
      {"import --input 3x28 a.onnx", "--input '3x28': not a shape; expected CxHxW, e.g. 3x64x64"},
      {"import --nm 9:8 a.onnx", "--nm '9:8': "},
      {"sweep --param batch=8 --set batch=16" + mlp,
       "--param batch=8: the key is also set by --set batch=16; expected either --param or --set for a key"},
  };
  for (const auto& c : cases) expect_one_error_line(c.args, c.start);
}

TEST(SatvpErrors, HelpStillExitsZero) {
  for (const char* args : {"--help", "run --help", "job --help", "compare --help", "sweep --help", "import --help"}) {
    const Output out = satvp(args);
    EXPECT_EQ(out.exit_code, 0) << args << "\n" << out.text;
    EXPECT_NE(out.text.find("Usage:"), std::string::npos) << args << "\n" << out.text;
  }
}

// compare replaces the scheme in each run; a training workload that leaves it out (dense) is
// named for that, not through the --set scheme=... compare made up.
TEST(SatvpErrors, CompareOnAWorkloadWithoutSchemeNamesTheFile) {
  std::ifstream in(kSource + "/workloads/fashion_mnist_mlp.yaml");
  std::string text;
  int lines = 0, first_key = 0;  // a missing key is named at its mapping: the file's first key
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("scheme:", 0) == 0) continue;
    text += line + "\n";
    ++lines;
    if (!first_key && !line.empty() && line[0] != '#') first_key = lines;
  }
  ASSERT_EQ(text.find("\nscheme:"), std::string::npos);
  const std::string path = write_file("no_scheme.yaml", text);
  expect_one_error_line("compare --workload " + path,
                        path + ":" + std::to_string(first_key) +
                            ":1: scheme: missing key; compare replaces it in each run with one of --schemes; "
                            "expected a scheme key in the workload (scheme: dense, as when it is left out)");
}

// The corpus files whose bytes once broke the message: each is one line, with the bytes shown.
TEST(SatvpErrors, BadBytesInFilesAreShownEscapedOnOneLine) {
  expect_one_error_line("run --workload tests/data/bad_train/escaped_nul.yaml",
                        "tests/data/bad_train/escaped_nul.yaml:5:9: scheme: unknown scheme 'den\\x00se' (did you "
                        "mean 'dense'?); expected one of dense, srste, sdgp, bdwp");
  expect_one_error_line("run --workload tests/data/bad_train/multiline_value.yaml",
                        "tests/data/bad_train/multiline_value.yaml:5:9: scheme: unknown scheme 'dense\\nbdwp\\n'");
  expect_one_error_line("run --workload tests/data/bad_train/nul_byte.yaml",
                        "tests/data/bad_train/nul_byte.yaml:5:12: scheme: control character \\x00 in the text");
  // An option's value too: a newline and an escape sequence in --set.
  expect_one_error_line("run --workload workloads/bringup.yaml --set \"$(printf 'bringup.rows=8\\n\\033[2Jx')\"",
                        "--set bringup.rows=8\\n\\x1b[2Jx: bringup.rows: ");
}

}  // namespace
}  // namespace cestvp
