// NumPy .npy and CSV files: the exact bytes of a small file against a header worked out by
// hand, round trips, every bad-file message, and (when Debian's python3-numpy is installed) a
// real NumPy loading what we write, writing what we read, and saving byte-identical files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "config/user_error.h"
#include "data/npy.h"
#include "output_file.h"
#include "test_files.h"

namespace cestvp {
namespace {

using cestvp::test::error_of;
using cestvp::test::test_dir;
using cestvp::test::write_file;

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A version 1.0 file around `dict`, padded to 64 bytes as NumPy does (for the bad-file tests).
std::string npy_file(const std::string& dict, const std::string& data, char major = 1) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY") + major + '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + data;
}

// Shape (2, 3) '<f4', worked out by hand:
//   dictionary "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
//     = 17 ("{'descr': '<f4', ") + 24 ("'fortran_order': False, ") + 17 ("'shape': (2, 3), ")
//       + 1 ("}") = 59 characters,
//   + 20 spaces NumPy leaves for the first axis to grow (21 digits minus the 1 of "2") = 79,
//   magic 6 + version 2 + length 2 + 79 + '\n' 1 = 90, so 38 spaces pad to 128;
//   header length = 79 + 38 + 1 = 118 = 0x76 ('v'). Data: 6 floats, 24 bytes, little-endian:
//   0 = 00000000, 1 = 3f800000, -2 = c0000000, 0.5 = 3f000000, 3 = 40400000, 0.25 = 3e800000.
TEST(Npy, ExactBytesOfSmallFile) {
  const float data[] = {0.0f, 1.0f, -2.0f, 0.5f, 3.0f, 0.25f};
  const std::string path = (test_dir() / "a.npy").string();
  write_npy(path, data, {2, 3});
  const std::string expected =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(20 + 38, ' ') +
      "\n" +
      std::string("\x00\x00\x00\x00" "\x00\x00\x80\x3f" "\x00\x00\x00\xc0"
                  "\x00\x00\x00\x3f" "\x00\x00\x40\x40" "\x00\x00\x80\x3e", 24);
  ASSERT_EQ(expected.size(), 128u + 24u);
  EXPECT_EQ(read_file(path), expected);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

// Shape (5,) '<i4': dictionary "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }"
// = 17 + 24 + 15 + 1 = 57, + 20 growth spaces = 77; 10 + 77 + 1 = 88, 40 spaces pad to 128.
TEST(Npy, OneDimensionalInt32) {
  const std::int32_t data[] = {1, -1, 2, 0x12345678, 0};
  const std::string path = (test_dir() / "i.npy").string();
  write_npy(path, data, {5});
  const std::string bytes = read_file(path);
  ASSERT_EQ(bytes.size(), 128u + 20u);
  EXPECT_EQ(bytes.substr(8, 2), std::string("\x76\x00", 2));  // 128 - 10
  EXPECT_EQ(bytes.substr(10, 77 + 40 + 1),
            "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }" +
                std::string(20 + 40, ' ') + "\n");
  EXPECT_EQ(bytes.substr(128 + 12, 4), std::string("\x78\x56\x34\x12", 4));
  EXPECT_EQ(bytes.substr(128 + 4, 4), std::string("\xff\xff\xff\xff", 4));
}

// A header that would end exactly on 64 bytes gets a whole 64 more, as NumPy's does: shape
// (123456789012345678901,) cannot be written, so this checks the data offset of several ranks.
TEST(Npy, DataAlwaysStartsAtMultipleOf64) {
  const std::vector<float> data(1, 1.0f);
  const fs::path dir = test_dir();
  for (std::size_t rank = 0; rank <= 12; ++rank) {
    const std::string path = (dir / ("r" + std::to_string(rank) + ".npy")).string();
    write_npy(path, data.data(), std::vector<std::size_t>(rank, 1));
    const std::string bytes = read_file(path);
    EXPECT_EQ((bytes.size() - 4) % 64, 0u) << rank;
    EXPECT_EQ(bytes[bytes.size() - 5], '\n') << rank;
    const NpyArray back = read_npy(path);
    EXPECT_EQ(back.shape, std::vector<std::size_t>(rank, 1));
    EXPECT_EQ(back.data, data);
  }
}

TEST(Npy, RoundTripFloat32) {
  std::vector<float> data(3 * 4 * 5);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i) * 0.1f - 2.0f;
  data[7] = -0.0f;
  const std::string path = (test_dir() / "w.npy").string();
  write_npy(path, data.data(), {3, 4, 5});
  const NpyArray back = read_npy(path);
  EXPECT_EQ(back.descr, "<f4");
  EXPECT_EQ(back.shape, (std::vector<std::size_t>{3, 4, 5}));
  EXPECT_EQ(back.data, data);
  EXPECT_TRUE(std::signbit(back.data[7]));
}

// FP16 bit patterns, widened by hand: 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125
// (1 + 0x155/1024) / 4, 0x0001 = 2^-24 (smallest subnormal), 0x7bff = 65504, 0x7c00 = inf.
TEST(Npy, RoundTripFloat16) {
  const std::uint16_t bits[] = {0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x7c00};
  const std::string path = (test_dir() / "h.npy").string();
  write_npy_fp16(path, bits, {6});
  EXPECT_EQ(read_file(path).substr(10, 16), "{'descr': '<f2',");
  const NpyArray back = read_npy(path);
  EXPECT_EQ(back.descr, "<f2");
  EXPECT_EQ(back.shape, std::vector<std::size_t>{6});
  const std::vector<float> expected = {1.0f, -2.0f, 0.333251953125f, 5.9604644775390625e-8f,
                                       65504.0f, std::numeric_limits<float>::infinity()};
  EXPECT_EQ(back.data, expected);
}

TEST(Npy, ZeroSizedArray) {
  const std::string path = (test_dir() / "z.npy").string();
  write_npy(path, static_cast<const float*>(nullptr), {0, 3});
  const NpyArray back = read_npy(path);
  EXPECT_EQ(back.shape, (std::vector<std::size_t>{0, 3}));
  EXPECT_TRUE(back.data.empty());
}

TEST(Npy, ReadsVersion2AndOtherSpacing) {
  // Version 2.0 has a 4-byte header length; the dictionary in another key order and spacing.
  const std::string dict = "{'shape':(2,),'fortran_order':False,'descr':'<f4'}";
  std::string header = dict + std::string(64 - 12 - dict.size() - 1, ' ') + "\n";
  ASSERT_EQ((12 + header.size()) % 64, 0u);
  const std::string bytes = std::string("\x93NUMPY\x02\x00", 8) +
                            static_cast<char>(header.size()) + std::string(3, '\0') + header +
                            std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  const NpyArray back = read_npy(write_file("v2.npy", bytes));
  EXPECT_EQ(back.shape, std::vector<std::size_t>{2});
  EXPECT_EQ(back.data, (std::vector<float>{1.0f, -2.0f}));
}

TEST(Npy, BadFilesRejected) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string data24(24, '\0');
  struct Case {
    std::string name, bytes, message;
  };
  const std::vector<Case> cases = {
      {"text.npy", "hello, world\n",
       ": not an NPY file (it does not start with \\x93NUMPY); expected a NumPy .npy file"},
      {"short.npy", "\x93NUM", ": not an NPY file (it does not start with \\x93NUMPY); expected "
                               "a NumPy .npy file"},
      {"v3.npy", npy_file(good, data24, 3),
       ": NPY format version 3.0 is not supported; expected version 1.0 or 2.0"},
      {"headerless.npy", std::string("\x93NUMPY\x01\x00\x40", 9),
       ": truncated header; expected at least 10 bytes"},
      {"cut_header.npy", npy_file(good, data24).substr(0, 40),
       ": truncated header of 30 bytes; expected 118 bytes as its length field says"},
      {"fortran.npy",
       npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data24),
       ": fortran_order is True; expected an array in C order"},
      {"f8.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data24),
       ": unsupported dtype '<f8'; expected '<f4' (float32) or '<f2' (float16)"},
      {"big_endian.npy",
       npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data24),
       ": unsupported dtype '>f4'; expected '<f4' (float32) or '<f2' (float16)"},
      {"truncated.npy", npy_file(good, std::string(20, '\0')),
       ": truncated data: 20 bytes; expected 24 bytes for shape (2, 3) of '<f4'"},
      {"extra.npy", npy_file(good, std::string(28, '\0')),
       ": extra data: 28 bytes; expected 24 bytes for shape (2, 3) of '<f4'"},
      {"huge.npy",
       npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                data24),
       ": truncated data: 24 bytes; expected more bytes for shape (4294967296, 4294967296) of "
       "'<f4'"},
      {"no_shape.npy", npy_file("{'descr': '<f4', 'fortran_order': False, }", data24),
       ": cannot read the header {'descr': '<f4', 'fortran_order': False, } (a key is missing); "
       "expected {'descr': ..., 'fortran_order': ..., 'shape': (...), }"},
      {"garbage.npy", npy_file("{'descr': '<f4', 'fortran_order': Maybe}", data24),
       ": cannot read the header {'descr': '<f4', 'fortran_order': Maybe} (no True or False at "
       "offset 34); expected {'descr': ..., 'fortran_order': ..., 'shape': (...), }"},
  };
  for (const Case& c : cases) {
    const std::string path = write_file(c.name, c.bytes);
    EXPECT_EQ(error_of([&] { read_npy(path); }), path + c.message) << c.name;
  }
  const std::string missing = (test_dir() / "missing.npy").string();
  EXPECT_EQ(error_of([&] { read_npy(missing); }),
            missing + ": no such file or directory; expected a readable regular file (a .npy file)");
}

// Paths are checked before a run (check_outputs); what fails while writing is the machine's
// (OutputError, exit 4), and nothing is left behind.
TEST(Npy, UnwritablePathRejectedAndNothingLeft) {
  const fs::path dir = test_dir();
  const std::string path = (dir / "no_such_dir" / "a.npy").string();
  const float one = 1.0f;
  const auto output_error = [&](const std::string& target) {
    return error_of<OutputError>([&] { write_npy(target, &one, {1}); });
  };
  EXPECT_EQ(output_error(path), path + ": cannot create " + path + ".tmp: No such file or directory");
  // A directory at the path is not replaced, and no temporary file is left.
  fs::create_directories(dir / "d.npy" / "x");
  const std::string onto_dir = (dir / "d.npy").string();
  EXPECT_EQ(output_error(onto_dir), onto_dir + ": is a directory; not replaced");
  EXPECT_FALSE(fs::exists(onto_dir + ".tmp"));
  EXPECT_TRUE(fs::is_directory(dir / "d.npy" / "x"));
}

TEST(Npy, ReplacesExistingFileWhole) {
  const std::string path = (test_dir() / "w.npy").string();
  const std::vector<float> big(1000, 1.0f), small = {2.0f};
  write_npy(path, big.data(), {1000});
  write_npy(path, small.data(), {1});
  EXPECT_EQ(fs::file_size(path), 128u + 4u);
  EXPECT_EQ(read_npy(path).data, small);
}

TEST(Csv, QuotingAndNumbers) {
  const std::string path = (test_dir() / "m.csv").string();
  write_csv(path, {"step", "loss", "note, with comma"},
            {{0, 2.5, "plain"},
             {1u, 0.1, "say \"hi\", twice"},
             {-3L, 1e-7f, " padded"},
             {18446744073709551615ull, -0.0, "two\nlines"},
             {2LL, 1.0 / 3.0, std::string()}});
  // Numbers are the shortest text that reads back exactly: 1/3 as a double needs 16 digits.
  EXPECT_EQ(read_file(path),
            "step,loss,\"note, with comma\"\n"
            "0,2.5,plain\n"
            "1,0.1,\"say \"\"hi\"\", twice\"\n"
            "-3,1e-07,\" padded\"\n"
            "18446744073709551615,-0,\"two\nlines\"\n"
            "2,0.3333333333333333,\n");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(Csv, RowWidthMismatchIsAProgrammingError) {
  const std::string path = (test_dir() / "m.csv").string();
  EXPECT_THROW(write_csv(path, {"a", "b"}, {{1, 2}, {3}}), std::invalid_argument);
  EXPECT_FALSE(fs::exists(path));
}

// The Python that has NumPy: Debian's python3-numpy belongs to /usr/bin/python3, which a
// pyenv or virtualenv python3 earlier on PATH may hide. Empty when there is none.
std::string python_with_numpy() {
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    const std::string command = std::string(python) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(command.c_str()) == 0) return python;
  }
  return "";
}

// Runs `script` (which asserts what it checks) with the Python that has NumPy.
void run_python(const std::string& python, const fs::path& dir, const std::string& script) {
  const fs::path file = dir / "check.py";
  std::ofstream(file) << script;
  const std::string command = python + " " + file.string() + " " + dir.string() + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << script;
}

TEST(Npy, NumPyLoadsOurFilesAndSavesTheSameBytes) {
  const std::string python = python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "no python3 with numpy (Debian package python3-numpy)";
  const fs::path dir = test_dir();
  const float f[] = {0.0f, 1.0f, -2.0f, 0.5f, 3.0f, 0.25f};
  write_npy((dir / "f4.npy").string(), f, {2, 3});
  const std::uint16_t h[] = {0x3c00, 0xc000, 0x3555, 0x7c00};
  write_npy_fp16((dir / "f2.npy").string(), h, {4});
  const std::int32_t i[] = {1, -1, 2147483647};
  write_npy((dir / "i4.npy").string(), i, {3, 1, 1});
  const float s = 7.0f;
  write_npy((dir / "scalar.npy").string(), &s, {});
  std::vector<float> big(1234567);
  for (std::size_t k = 0; k < big.size(); ++k) big[k] = static_cast<float>(k);
  write_npy((dir / "big.npy").string(), big.data(), {1234567});
  run_python(python, dir, R"(
import io, os, sys, numpy as np
d = sys.argv[1]
def check(name, expected):
    a = np.load(os.path.join(d, name))
    assert a.dtype == expected.dtype and a.shape == expected.shape, (name, a.dtype, a.shape)
    assert np.array_equal(a, expected), (name, a)
    b = io.BytesIO(); np.save(b, expected)
    assert b.getvalue() == open(os.path.join(d, name), 'rb').read(), name
check('f4.npy', np.array([[0, 1, -2], [0.5, 3, 0.25]], dtype='<f4'))
check('f2.npy', np.array([1, -2, 0.333251953125, np.inf], dtype='<f2'))
check('i4.npy', np.array([1, -1, 2147483647], dtype='<i4').reshape(3, 1, 1))
check('scalar.npy', np.array(7, dtype='<f4'))
check('big.npy', np.arange(1234567, dtype='<f4'))
)");
}

TEST(Npy, ReadsWhatNumPyWrites) {
  const std::string python = python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "no python3 with numpy (Debian package python3-numpy)";
  const fs::path dir = test_dir();
  run_python(python, dir, R"(
import os, sys, numpy as np
d = sys.argv[1]
np.save(os.path.join(d, 'f4.npy'), np.arange(24, dtype='<f4').reshape(2, 3, 4) / 8)
np.save(os.path.join(d, 'f2.npy'), np.array([0.1, -65504, 6e-8], dtype='<f2'))
with open(os.path.join(d, 'v2.npy'), 'wb') as f:
    np.lib.format.write_array(f, np.array([1.5, 2.5], dtype='<f4'), version=(2, 0))
np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(np.ones((2, 3), dtype='<f4')))
np.save(os.path.join(d, 'f8.npy'), np.ones(3))
)");
  const NpyArray f4 = read_npy((dir / "f4.npy").string());
  EXPECT_EQ(f4.shape, (std::vector<std::size_t>{2, 3, 4}));
  for (std::size_t k = 0; k < 24; ++k) EXPECT_EQ(f4.data[k], static_cast<float>(k) / 8) << k;
  // float16 nearest to 0.1 is 0x2e66 = (1 + 0x266/1024) / 16 = 0.0999755859375; 6e-8 rounds to
  // the smallest subnormal 2^-24 = 5.9604644775390625e-8.
  EXPECT_EQ(read_npy((dir / "f2.npy").string()).data,
            (std::vector<float>{0.0999755859375f, -65504.0f, 5.9604644775390625e-8f}));
  EXPECT_EQ(read_npy((dir / "v2.npy").string()).data, (std::vector<float>{1.5f, 2.5f}));
  const std::string fortran = (dir / "fortran.npy").string();
  EXPECT_EQ(error_of([&] { read_npy(fortran); }),
            fortran + ": fortran_order is True; expected an array in C order");
  const std::string f8 = (dir / "f8.npy").string();
  EXPECT_EQ(error_of([&] { read_npy(f8); }),
            f8 + ": unsupported dtype '<f8'; expected '<f4' (float32) or '<f2' (float16)");
}

}  // namespace
}  // namespace cestvp
