// Dataset readers: the real Fashion-MNIST files of Debian's dataset-fashion-mnist package,
// small IDX and CIFAR files written here (plain and gzip), every bad-input case, and the
// synthetic generator. Every expected number is hand-checked; how is said next to it.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <zlib.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config/input_file.h"
#include "config/user_error.h"
#include "config/yaml_reader.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "test_files.h"

namespace cestvp {
namespace {

using cestvp::test::error_of;
using cestvp::test::write_file;

using Bytes = std::vector<unsigned char>;

// One gzip member holding `bytes` (zlib's deflate with a gzip wrapper, as gzip(1) writes).
Bytes gzip(const Bytes& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 64);
  z.next_in = const_cast<Bytef*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void put32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<unsigned char>(v >> shift));
}

// IDX images: magic 0x00000803, count, rows, cols, then the pixels.
Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels) {
  Bytes b;
  for (std::uint32_t v : {0x803u, count, rows, cols}) put32(b, v);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

// IDX labels: magic 0x00000801, count, then the labels.
Bytes idx_labels(const Bytes& labels) {
  Bytes b;
  for (std::uint32_t v : {0x801u, static_cast<std::uint32_t>(labels.size())}) put32(b, v);
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

// Three 2x3 images, pixels 0, 1, 2, ... 17 except for a few extremes; labels 7, 0, 9.
const Bytes kPixels = {0, 255, 2, 3, 4, 5, 6, 7, 128, 9, 10, 11, 12, 13, 14, 15, 16, 254};
const Bytes kLabels = {7, 0, 9};

void expect_small_idx(const Dataset& d) {
  ASSERT_EQ(d.count(), 3u);
  EXPECT_EQ(d.height, 2u);
  EXPECT_EQ(d.width, 3u);
  EXPECT_EQ(d.channels, 1u);
  EXPECT_EQ(d.classes, 10u);
  EXPECT_EQ(d.labels, (std::vector<std::uint16_t>{7, 0, 9}));
  ASSERT_EQ(d.images.size(), 18u);
  for (std::size_t i = 0; i < 18; ++i) EXPECT_EQ(d.images[i], static_cast<float>(kPixels[i]) / 255.0f) << i;
  EXPECT_EQ(d.image(1)[0], 6.0f / 255.0f);  // image 1 starts at pixel 6
  EXPECT_EQ(d.image(0)[1], 1.0f);
  EXPECT_EQ(d.image(0)[0], 0.0f);
}

TEST(Dataset, FashionMnistTrain) {
  const std::string dir = fashion_mnist_dir();
  // Speed is a benchmark matter (docs/performance.md), not asserted here.
  const Dataset d = read_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");

  EXPECT_EQ(d.name, "fashion-mnist");
  ASSERT_EQ(d.count(), 60000u);
  EXPECT_EQ(d.height, 28u);
  EXPECT_EQ(d.width, 28u);
  EXPECT_EQ(d.channels, 1u);
  EXPECT_EQ(d.classes, 10u);
  ASSERT_EQ(d.images.size(), 60000u * 784u);
  // Checked with `zcat train-labels-idx1-ubyte.gz | od -A d -t x1 -N 24`: after the header
  // 00 00 08 01 00 00 ea 60 the labels are 09 00 00 03 00 02 07 02 05 05 (9 = ankle boot).
  EXPECT_EQ(std::vector<std::uint16_t>(d.labels.begin(), d.labels.begin() + 10),
            (std::vector<std::uint16_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  // Checked with `zcat ... | tail -c +9 | od -An -v -t u1 -w1 | sort -n | uniq -c`: 6000 each.
  std::array<int, 10> histogram{};
  for (std::uint16_t label : d.labels) ++histogram.at(label);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(histogram[static_cast<std::size_t>(c)], 6000) << "class " << c;
  float lo = 1, hi = 0;
  for (float v : d.images) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  // Checked with `zcat train-images-idx3-ubyte.gz | tail -c +17 | head -c 784 | od -An -v -t u1
  // -w1 | awk ...`: the first image's pixel bytes sum to 76247, 433 are non-zero, the largest 255.
  double sum = 0;
  int nonzero = 0;
  for (std::size_t i = 0; i < 784; ++i) sum += d.image(0)[i] * 255.0, nonzero += d.image(0)[i] != 0;
  EXPECT_NEAR(sum, 76247.0, 0.05);
  EXPECT_EQ(nonzero, 433);
}

TEST(Dataset, FashionMnistTest) {
  const std::string dir = fashion_mnist_dir();
  const Dataset d = read_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(d.count(), 10000u);
  EXPECT_EQ(d.height * d.width * d.channels, 784u);
  // `zcat t10k-labels-idx1-ubyte.gz | od -A d -t x1 -N 16`: 09 02 01 01 06 01 04 06 after the header.
  EXPECT_EQ(std::vector<std::uint16_t>(d.labels.begin(), d.labels.begin() + 8),
            (std::vector<std::uint16_t>{9, 2, 1, 1, 6, 1, 4, 6}));
  std::array<int, 10> histogram{};
  for (std::uint16_t label : d.labels) ++histogram.at(label);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(histogram[static_cast<std::size_t>(c)], 1000) << "class " << c;
  for (float v : d.images) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
}

TEST(Dataset, FashionMnistLimit) {
  const std::string dir = fashion_mnist_dir();
  const Dataset d = read_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", 5);
  ASSERT_EQ(d.count(), 5u);
  EXPECT_EQ(d.images.size(), 5u * 784u);
  EXPECT_EQ(d.labels, (std::vector<std::uint16_t>{9, 2, 1, 1, 6}));
}

TEST(Dataset, SmallIdxPlainAndGzip) {
  const Bytes images = idx_images(3, 2, 3, kPixels), labels = idx_labels(kLabels);
  expect_small_idx(read_idx(write_file("i", images), write_file("l", labels)));
  expect_small_idx(read_idx(write_file("i.gz", gzip(images)), write_file("l.gz", gzip(labels))));
  expect_small_idx(read_idx(write_file("i.gz", gzip(images)), write_file("l", labels)));
  // Two concatenated gzip members decompress to the concatenation, as with gzip(1).
  Bytes front(images.begin(), images.begin() + 10), back(images.begin() + 10, images.end());
  Bytes two = gzip(front), second = gzip(back);
  two.insert(two.end(), second.begin(), second.end());
  expect_small_idx(read_idx(write_file("two.gz", two), write_file("l", labels)));

  const Dataset limited = read_idx(write_file("i", images), write_file("l", labels), 2);
  ASSERT_EQ(limited.count(), 2u);
  EXPECT_EQ(limited.images.size(), 12u);
  EXPECT_EQ(limited.name, "mnist");
}

// A CIFAR record: label byte(s), then 3 planes of 32x32: value (c*7 + y*3 + x + seed) % 256.
Bytes cifar_record(const Bytes& label, int seed) {
  Bytes r = label;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) r.push_back(static_cast<unsigned char>((c * 7 + y * 3 + x + seed) % 256));
  return r;
}

// HWC: the value of channel c at (y, x) is at (y*32 + x)*3 + c.
void expect_cifar_image(const Dataset& d, std::size_t i, int seed) {
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(d.image(i)[(y * 32 + x) * 3 + c], static_cast<float>((c * 7 + y * 3 + x + seed) % 256) / 255.0f)
            << "image " << i << " y " << y << " x " << x << " c " << c;
}

TEST(Dataset, Cifar10) {
  Bytes first = cifar_record({3}, 0), r1 = cifar_record({9}, 100);
  first.insert(first.end(), r1.begin(), r1.end());
  const std::string a = write_file("data_batch_1.bin", first);
  const std::string b = write_file("data_batch_2.bin.gz", gzip(cifar_record({0}, 200)));
  const Dataset d = read_cifar({a, b}, false);
  EXPECT_EQ(d.name, "cifar-10");
  ASSERT_EQ(d.count(), 3u);
  EXPECT_EQ(d.height, 32u);
  EXPECT_EQ(d.width, 32u);
  EXPECT_EQ(d.channels, 3u);
  EXPECT_EQ(d.classes, 10u);
  EXPECT_EQ(d.labels, (std::vector<std::uint16_t>{3, 9, 0}));
  EXPECT_EQ(d.images.size(), 3u * 3072u);
  expect_cifar_image(d, 0, 0);
  expect_cifar_image(d, 1, 100);
  expect_cifar_image(d, 2, 200);
  // Spot check against the CHW file bytes: channel 2 at (y 1, x 0) is byte 1 + 2*1024 + 32 of the record.
  EXPECT_EQ(d.image(0)[(1 * 32 + 0) * 3 + 2], static_cast<float>(first[1 + 2 * 1024 + 32]) / 255.0f);

  const Dataset limited = read_cifar({a, b}, false, 2);
  EXPECT_EQ(limited.labels, (std::vector<std::uint16_t>{3, 9}));
  EXPECT_EQ(limited.images.size(), 2u * 3072u);
}

TEST(Dataset, Cifar100UsesFineLabel) {
  Bytes file = cifar_record({19, 99}, 5), r1 = cifar_record({0, 42}, 6);
  file.insert(file.end(), r1.begin(), r1.end());
  const Dataset d = read_cifar({write_file("train.bin", file)}, true);
  EXPECT_EQ(d.name, "cifar-100");
  EXPECT_EQ(d.classes, 100u);
  EXPECT_EQ(d.labels, (std::vector<std::uint16_t>{99, 42}));
  expect_cifar_image(d, 0, 5);
  expect_cifar_image(d, 1, 6);
}

TEST(Dataset, BadIdxFiles) {
  const Bytes images = idx_images(3, 2, 3, kPixels), labels = idx_labels(kLabels);
  const std::string good_images = write_file("images", images), good_labels = write_file("labels", labels);

  const std::string missing = write_file("x", Bytes{}) + ".does-not-exist";
  std::string e = error_of([&] { read_idx(missing, good_labels); });
  EXPECT_CONTAINS(e, missing + ": no such file or directory; expected a readable regular file (a dataset file)");

  // Truncated: 16 + 3*2*3 = 34 bytes expected, one pixel missing.
  const std::string short_images = write_file("short", Bytes(images.begin(), images.end() - 1));
  e = error_of([&] { read_idx(short_images, good_labels); });
  EXPECT_CONTAINS(e, short_images + ": truncated IDX file: 33 bytes found; expected 34 bytes");
  const std::string header_only = write_file("header", Bytes(images.begin(), images.begin() + 10));
  e = error_of([&] { read_idx(header_only, good_labels); });
  EXPECT_CONTAINS(e, header_only + ": truncated IDX file: 10 bytes found; expected 16 bytes of header");
  const std::string short_labels = write_file("short_labels", Bytes(labels.begin(), labels.end() - 2));
  e = error_of([&] { read_idx(good_images, short_labels); });
  EXPECT_CONTAINS(e, short_labels + ": truncated IDX file: 9 bytes found; expected 11 bytes");
  Bytes longer = images;
  longer.push_back(0);
  const std::string long_images = write_file("long", longer);
  e = error_of([&] { read_idx(long_images, good_labels); });
  EXPECT_CONTAINS(e, long_images + ": IDX file too long: 35 bytes found; expected 34 bytes");
  // A header claiming 2^32-1 images of 2^32-1 x 2^32-1 pixels must not be believed.
  Bytes huge;
  for (std::uint32_t v : {0x803u, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}) put32(huge, v);
  const std::string huge_images = write_file("huge", huge);
  e = error_of([&] { read_idx(huge_images, good_labels); });
  EXPECT_CONTAINS(e, huge_images + ": the header's sizes 4294967295 x 4294967295 x 4294967295 imply more");

  // Wrong magic: the two files swapped, and the magic of neither.
  e = error_of([&] { read_idx(good_labels, good_images); });
  EXPECT_CONTAINS(e, good_labels + ": wrong magic number 0x00000801; expected 0x00000803 for an IDX images file");
  e = error_of([&] { read_idx(good_images, good_images); });
  EXPECT_CONTAINS(e, good_images + ": wrong magic number 0x00000803; expected 0x00000801 for an IDX labels file");
  Bytes text = {'h', 'e', 'l', 'l', 'o', '\n'};
  const std::string text_file = write_file("text", text);
  e = error_of([&] { read_idx(text_file, good_labels); });
  EXPECT_CONTAINS(e, text_file + ": wrong magic number 0x68656c6c; expected 0x00000803");

  // Counts that differ.
  const std::string two_labels = write_file("two_labels", idx_labels({1, 2}));
  e = error_of([&] { read_idx(good_images, two_labels); });
  EXPECT_CONTAINS(e, two_labels + ": 2 labels for the 3 images of " + good_images + "; expected one label per image");

  // Label out of range.
  const std::string bad_label = write_file("bad_label", idx_labels({7, 10, 9}));
  e = error_of([&] { read_idx(good_images, bad_label); });
  EXPECT_CONTAINS(e, bad_label + ": label 10 of item 1 is out of range; expected 0..9");
}

TEST(Dataset, BadGzipFiles) {
  const Bytes labels = idx_labels(kLabels);
  const std::string good_images = write_file("images", idx_images(3, 2, 3, kPixels));
  const Bytes packed = gzip(idx_images(3, 2, 3, kPixels));

  // Truncated compressed data.
  const std::string cut = write_file("cut.gz", Bytes(packed.begin(), packed.end() - 12));
  std::string e = error_of([&] { read_idx(cut, write_file("l", labels)); });
  EXPECT_CONTAINS(e, cut + ": corrupt gzip file: the compressed data ends early");
  const std::string magic_only = write_file("magic.gz", Bytes{0x1f, 0x8b});
  e = error_of([&] { read_idx(magic_only, write_file("l", labels)); });
  EXPECT_CONTAINS(e, magic_only + ": corrupt gzip file");

  // A flipped bit in the CRC-32 of the trailer (bytes -8..-5), and in the header's method byte.
  // The CRC is checked after the last byte the header implies (the reader asks for one more).
  Bytes bad_crc = packed;
  bad_crc[bad_crc.size() - 8] ^= 1;
  const std::string crc = write_file("crc.gz", bad_crc);
  e = error_of([&] { read_idx(crc, write_file("l", labels)); });
  EXPECT_CONTAINS(e, crc + ": corrupt gzip file (incorrect data check)");
  Bytes bad_method = packed;
  bad_method[2] = 7;  // 8 is deflate
  const std::string method = write_file("method.gz", bad_method);
  e = error_of([&] { read_idx(method, write_file("l", labels)); });
  EXPECT_CONTAINS(e, method + ": corrupt gzip file (unknown compression method)");

  // Garbage after the stream.
  Bytes trailing = gzip(labels);
  trailing.push_back(0);
  const std::string tail = write_file("tail.gz", trailing);
  e = error_of([&] { read_idx(good_images, tail); });
  EXPECT_CONTAINS(e, tail + ": corrupt gzip file: 1 bytes of trailing data");
}

// Reliability II, class 4 and 7: the IDX header is checked before the data, and no more data
// is decompressed than it implies.
TEST(Dataset, IdxHeaderIsCheckedBeforeItsData) {
  const Bytes images = idx_images(3, 2, 3, kPixels), labels = idx_labels(kLabels);
  const std::string good_labels = write_file("labels", labels);
  const IdxImages mnist{28, 28, "fashion-mnist"};
  // The image size the workload expects, named whatever else is wrong after the header.
  std::string e = error_of([&] { read_idx(write_file("small", images), good_labels, SIZE_MAX, mnist); });
  EXPECT_CONTAINS(e, "/small: images are 2x3; expected 28x28 (fashion-mnist)");
  e = error_of([&] { read_idx(write_file("cut", Bytes(images.begin(), images.begin() + 20)), good_labels, 5, mnist); });
  EXPECT_CONTAINS(e, "/cut: images are 2x3; expected 28x28 (fashion-mnist)");
  expect_small_idx(read_idx(write_file("i", images), good_labels, SIZE_MAX, {2, 3, "small"}));

  // 2^32 - 1 images of 28 x 28 (3.4 TB), plain or gzip: refused from the header alone.
  Bytes huge;
  for (std::uint32_t v : {0x803u, 0xFFFFFFFFu, 28u, 28u}) put32(huge, v);
  for (const std::string& path : {write_file("huge", huge), write_file("huge.gz", gzip(huge))}) {
    e = error_of([&] { read_idx(path, good_labels, SIZE_MAX, mnist); });
    EXPECT_CONTAINS(e, path + ": the header's sizes 4294967295 x 28 x 28 imply more than 1 GiB of data; expected an "
                              "IDX file of at most 1 GiB");
  }

  // gzip data longer than the header says: 34 bytes expected (16 + 3 x 2 x 3), 8 MiB there.
  // Decompression stops one byte after the 34.
  Bytes longer = images;
  longer.resize(longer.size() + (8u << 20), 0);
  const std::string too_long = write_file("long.gz", gzip(longer));
  e = error_of([&] { read_idx(too_long, good_labels); });
  EXPECT_CONTAINS(e, too_long + ": IDX file too long: more than 34 bytes found after decompression; expected 34 "
                                "bytes (16 of header + 3 x 2 x 3)");
  // A complete gzip stream of fewer bytes than the header says.
  const std::string short_gz = write_file("short.gz", gzip(Bytes(images.begin(), images.end() - 5)));
  e = error_of([&] { read_idx(short_gz, good_labels); });
  EXPECT_CONTAINS(e, short_gz + ": truncated IDX file: 29 bytes found after decompression; expected 34 bytes");
  // The limit keeps the first images only, and the rest is still checked.
  const Dataset two = read_idx(write_file("i.gz", gzip(images)), good_labels, 2);
  EXPECT_EQ(two.labels, (std::vector<std::uint16_t>{7, 0}));
  e = error_of([&] { read_idx(short_gz, good_labels, 1); });
  EXPECT_CONTAINS(e, "truncated IDX file: 29 bytes found after decompression");
}

// Every reader opens its files through InputFile: a special file or a filesystem problem is a
// UserError naming the path, at once (a FIFO without a writer would block a plain open).
TEST(InputFile, RefusesWhatIsNotARegularFile) {
  const std::filesystem::path dir = test::test_dir();
  const std::string labels = write_file("labels", idx_labels(kLabels));
  const std::string fifo = (dir / "fifo").string();
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { read_idx(fifo, labels); }), fifo + ": is a FIFO (named pipe); expected a regular file (a dataset file)");
  EXPECT_EQ(error_of([&] { load_yaml(fifo); }), fifo + ": is a FIFO (named pipe); expected a regular file (a YAML file)");
  EXPECT_EQ(error_of([&] { read_cifar({fifo}, false); }), fifo + ": is a FIFO (named pipe); expected a regular file (a dataset file)");
  EXPECT_EQ(error_of([&] { read_npy(fifo); }), fifo + ": is a FIFO (named pipe); expected a regular file (a .npy file)");

  const std::string sub = (dir / "sub").string();
  std::filesystem::create_directories(sub);
  EXPECT_EQ(error_of([&] { load_yaml(sub); }), sub + ": is a directory; expected a regular file (a YAML file)");

  const std::string loop_a = (dir / "loop_a").string(), loop_b = (dir / "loop_b").string();
  std::filesystem::remove(loop_a);
  std::filesystem::remove(loop_b);
  std::filesystem::create_symlink(loop_b, loop_a);
  std::filesystem::create_symlink(loop_a, loop_b);
  EXPECT_EQ(error_of([&] { read_idx(loop_a, labels); }),
            loop_a + ": too many levels of symbolic links; expected a readable regular file (a dataset file)");

  // A path through a file, and one that does not exist.
  EXPECT_EQ(error_of([&] { load_yaml(labels + "/x.yaml"); }),
            labels + "/x.yaml: not a directory; expected a readable regular file (a YAML file)");
  EXPECT_EQ(error_of([&] { load_yaml(labels + ".yaml"); }),
            labels + ".yaml: no such file or directory; expected a readable regular file (a YAML file)");

  // A symlink to a regular file is read through, as shells do.
  const std::string link = (dir / "link").string();
  std::filesystem::remove(link);
  std::filesystem::create_symlink(labels, link);
  EXPECT_EQ(InputFile(link, "a test file", 100).read_all(), idx_labels(kLabels));

  // A character device of our own (as /dev/null), where the test may make one (root).
  const std::string device = (dir / "device").string();
  std::filesystem::remove(device);
  if (mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
    EXPECT_EQ(error_of([&] { read_idx(device, labels); }),
              device + ": is a character device; expected a regular file (a dataset file)");
    std::filesystem::remove(device);
  }
}

// The size limit of each kind, checked before a byte is read: sparse files of one byte more.
TEST(InputFile, SizeLimitPerKind) {
  const auto sparse = [](const std::string& name, std::uint64_t bytes) {
    const std::string path = write_file(name, Bytes{});
    EXPECT_EQ(truncate(path.c_str(), static_cast<off_t>(bytes)), 0);
    return path;
  };
  const std::string yaml = sparse("big.yaml", (16u << 20) + 1);
  EXPECT_EQ(error_of([&] { load_yaml(yaml); }),
            yaml + ": 16777217 bytes; expected at most 16 MiB (a YAML file)");
  const std::string idx = sparse("big-images", (std::uint64_t{1} << 30) + 1);
  EXPECT_EQ(error_of([&] { read_idx(idx, idx); }), idx + ": 1073741825 bytes; expected at most 1 GiB (a dataset file)");
  const std::string npy = sparse("big.npy", 1001);
  EXPECT_EQ(error_of([&] { read_npy(npy, 1000); }), npy + ": 1001 bytes; expected at most 1 kB (a .npy file)");
  // At the limit a file is read.
  const std::string exact = write_file("exact", std::string(100, 'x'));
  EXPECT_EQ(InputFile(exact, "a test file", 100).read_text(), std::string(100, 'x'));
}

// Tests run as root, who may read anything: the check is then only that root can.
TEST(InputFile, PermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their permissions";
  const std::string path = write_file("secret.yaml", std::string("a: 1\n"));
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  EXPECT_EQ(error_of([&] { load_yaml(path); }),
            path + ": permission denied; expected a readable regular file (a YAML file)");
}

TEST(Dataset, BadCifarFiles) {
  std::string e = error_of([] { read_cifar({}, false); });
  EXPECT_CONTAINS(e, "no files given");

  const std::string good = write_file("good.bin", cifar_record({1}, 0));
  const std::string missing = good + ".does-not-exist";
  e = error_of([&] { read_cifar({good, missing}, false); });
  EXPECT_CONTAINS(e, missing + ": no such file or directory");

  Bytes two = cifar_record({1}, 0), r1 = cifar_record({2}, 0);
  two.insert(two.end(), r1.begin(), r1.end() - 73);
  const std::string cut = write_file("cut.bin", two);
  e = error_of([&] { read_cifar({good, cut}, false); });
  EXPECT_CONTAINS(e, cut + ": truncated CIFAR file: 6073 bytes found, the last record has 3000 of 3073 bytes");
  const std::string empty = write_file("empty.bin", Bytes{});
  e = error_of([&] { read_cifar({empty}, false); });
  EXPECT_CONTAINS(e, empty + ": empty file");

  Bytes bad = cifar_record({1}, 0), r2 = cifar_record({10}, 0);
  bad.insert(bad.end(), r2.begin(), r2.end());
  const std::string bad10 = write_file("bad10.bin", bad);
  e = error_of([&] { read_cifar({bad10}, false); });
  EXPECT_CONTAINS(e, bad10 + ": label 10 of item 1 is out of range; expected 0..9");
  const std::string fine = write_file("fine.bin", cifar_record({3, 100}, 0));
  e = error_of([&] { read_cifar({fine}, true); });
  EXPECT_CONTAINS(e, fine + ": label 100 of item 0 is out of range; expected 0..99");
  const std::string coarse = write_file("coarse.bin", cifar_record({20, 5}, 0));
  e = error_of([&] { read_cifar({coarse}, true); });
  EXPECT_CONTAINS(e, coarse + " (coarse label): label 20 of item 0 is out of range; expected 0..19");
  // A CIFAR-10 file read as CIFAR-100 is caught by its size (3073 is not a multiple of 3074).
  e = error_of([&] { read_cifar({good}, true); });
  EXPECT_CONTAINS(e, good + ": truncated CIFAR file");
}

TEST(Dataset, SyntheticIsDeterministicAndCoversClasses) {
  const Dataset a = make_synthetic(500, 6, 5, 2, 10, 42), b = make_synthetic(500, 6, 5, 2, 10, 42);
  const Dataset c = make_synthetic(500, 6, 5, 2, 10, 43);
  EXPECT_EQ(a.name, "synthetic");
  ASSERT_EQ(a.count(), 500u);
  EXPECT_EQ(a.images.size(), 500u * 60u);
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(a.images, c.images);
  EXPECT_NE(a.labels, c.labels);
  std::array<int, 10> histogram{};
  for (std::uint16_t label : a.labels) ++histogram.at(label);
  for (int n : histogram) EXPECT_EQ(n, 50);  // labels cycle through the classes, then are shuffled
  EXPECT_NE(a.labels[0] * 100 + a.labels[1] * 10 + a.labels[2], 12);  // shuffled, not 0 1 2 ...
  for (float v : a.images) {
    ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
    ASSERT_EQ(v, static_cast<float>(static_cast<int>(v * 255.0f + 0.5f)) / 255.0f) << v;  // k/255
  }
  EXPECT_NO_THROW(make_synthetic(0, 1, 1, 1, 1, 0));
  EXPECT_CONTAINS(error_of([] { make_synthetic(10, 0, 4, 1, 2, 0); }), "synthetic dataset: an image dimension is 0");
  EXPECT_CONTAINS(error_of([] { make_synthetic(10, 4, 4, 1, 0, 0); }), "0 classes; expected 1..65536");
}

// Independent check of the generator: splitmix64 with seed 0 gives 0xe220a8397b1dcdaf, then
// 0x6e789e6aa1b965f4 (Vigna's reference splitmix64.c). One 1x1x1 image of one class: the
// prototype is the top byte of the first, 0xe2 = 226; the noise is ((0x6e789e6a * 193) >> 32)
// - 96 = 83 - 96 = -13; so the value is 213/255.
TEST(Dataset, SyntheticMatchesSplitMix64ByHand) {
  const Dataset d = make_synthetic(1, 1, 1, 1, 1, 0);
  ASSERT_EQ(d.images.size(), 1u);
  EXPECT_EQ(d.images[0], 213.0f / 255.0f);
  EXPECT_EQ(d.labels[0], 0u);
}

// Learnable: the class means of the first half classify the second half by nearest mean.
TEST(Dataset, SyntheticIsLearnable) {
  const std::uint32_t classes = 10, size = 8 * 8;
  const Dataset d = make_synthetic(2000, 8, 8, 1, classes, 7);
  std::vector<double> mean(classes * size, 0.0);
  std::vector<int> n(classes, 0);
  for (std::size_t i = 0; i < 1000; ++i) {
    ++n[d.labels[i]];
    for (std::uint32_t k = 0; k < size; ++k) mean[d.labels[i] * size + k] += d.image(i)[k];
  }
  for (std::uint32_t c = 0; c < classes; ++c)
    for (std::uint32_t k = 0; k < size; ++k) mean[c * size + k] /= n[c];
  int correct = 0;
  for (std::size_t i = 1000; i < 2000; ++i) {
    double best = 1e300;
    std::uint32_t guess = 0;
    for (std::uint32_t c = 0; c < classes; ++c) {
      double dist = 0;
      for (std::uint32_t k = 0; k < size; ++k) dist += (d.image(i)[k] - mean[c * size + k]) * (d.image(i)[k] - mean[c * size + k]);
      if (dist < best) best = dist, guess = c;
    }
    correct += guess == d.labels[i];
  }
  EXPECT_GT(correct, 900);  // chance would be about 100
}

TEST(Dataset, FashionMnistDirEnvironmentOverride) {
  unsetenv("CESTVP_FASHION_MNIST_DIR");  // this test runs in a process of its own
  EXPECT_EQ(fashion_mnist_dir(), "/usr/share/datasets/fashion-mnist");
  setenv("CESTVP_FASHION_MNIST_DIR", "/elsewhere", 1);
  EXPECT_EQ(fashion_mnist_dir(), "/elsewhere");
  unsetenv("CESTVP_FASHION_MNIST_DIR");
}

}  // namespace
}  // namespace cestvp
