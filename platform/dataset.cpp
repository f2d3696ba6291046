#include "dataset.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sys/mman.h>
#include <zlib.h>

#include "splitmix64.h"
#include "user_error.h"

namespace cestvp {

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& problem, const std::string& expected) {
  throw UserError(file + ": " + problem + "; expected " + expected);
}

std::string hex32(std::uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 9; i >= 2; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 0xF];
  return s;
}

// Resizes `v` to n elements, first asking Linux to back it with transparent huge pages: the
// 188 MB of Fashion-MNIST floats then cost about 90 page faults instead of 46000 (0.05 s
// instead of 0.3 s here). Only a hint; without it the result is the same, only slower.
template <typename T>
void resize_huge(std::vector<T>& v, std::size_t n) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
  if (n * sizeof(T) >= 4 * kHuge && n > v.capacity()) {
    v.reserve(n);  // allocates without touching the memory
    const auto from = (reinterpret_cast<std::uintptr_t>(v.data()) + kHuge - 1) & ~(kHuge - 1);
    const auto to = reinterpret_cast<std::uintptr_t>(v.data() + n) & ~(kHuge - 1);
    if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
  }
#endif
  v.resize(n);
}

std::vector<unsigned char> read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open file", "a readable dataset file");
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path, "cannot determine the file size", "a regular file");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    fail(path, "read error", std::to_string(size) + " readable bytes");
  return bytes;
}

// Decompresses one or more concatenated gzip members.
std::vector<unsigned char> gunzip(const std::string& path, const std::vector<unsigned char>& in) {
  std::vector<unsigned char> out;
  // The gzip trailer holds the uncompressed size mod 2^32: a good first guess, capped so that
  // a corrupt trailer cannot ask for a huge allocation.
  std::size_t guess = in.size() * 4;
  if (in.size() >= 18) {
    const std::size_t n = in.size();
    guess = std::size_t{in[n - 4]} | std::size_t{in[n - 3]} << 8 | std::size_t{in[n - 2]} << 16 |
            std::size_t{in[n - 1]} << 24;
  }
  resize_huge(out, std::min<std::size_t>(std::max<std::size_t>(guess, 1024) + 1, in.size() * 1100 + 1024));

  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) fail(path, "zlib cannot be initialised", "working zlib");
  std::size_t consumed = 0, produced = 0;
  for (;;) {
    const std::size_t in_chunk = std::min<std::size_t>(in.size() - consumed, std::numeric_limits<uInt>::max());
    if (produced == out.size()) out.resize(out.size() * 2);
    const std::size_t out_chunk = std::min<std::size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
    z.next_in = const_cast<Bytef*>(in.data() + consumed);
    z.avail_in = static_cast<uInt>(in_chunk);
    z.next_out = out.data() + produced;
    z.avail_out = static_cast<uInt>(out_chunk);
    const int rc = inflate(&z, Z_NO_FLUSH);
    consumed += in_chunk - z.avail_in;
    produced += out_chunk - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (consumed == in.size()) break;
      if (in.size() - consumed >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
        inflateReset(&z);  // another gzip member follows
        continue;
      }
      inflateEnd(&z);
      fail(path, "corrupt gzip file: " + std::to_string(in.size() - consumed) + " bytes of trailing data",
           "nothing after the gzip stream");
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && z.avail_out == 0) continue;  // output full: grow and go on
    const std::string message = z.msg ? z.msg : "";
    inflateEnd(&z);
    if (rc == Z_BUF_ERROR)
      fail(path, "corrupt gzip file: the compressed data ends early (truncated?)", "a complete gzip stream");
    fail(path, "corrupt gzip file" + (message.empty() ? "" : " (" + message + ")"), "valid gzip data");
  }
  inflateEnd(&z);
  out.resize(produced);
  return out;
}

// The file's bytes, decompressed if it starts with the gzip magic.
std::vector<unsigned char> read_bytes(const std::string& path) {
  std::vector<unsigned char> raw = read_raw(path);
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) return gunzip(path, raw);
  return raw;
}

std::uint32_t big_endian32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}

// Checks an IDX header (magic and `dims` sizes) and the total size; returns the sizes.
std::vector<std::uint32_t> idx_header(const std::string& path, const std::vector<unsigned char>& bytes,
                                      std::uint32_t magic, const char* kind, std::size_t dims) {
  const std::size_t header = 4 + 4 * dims;
  if (bytes.size() < 4)
    fail(path, "truncated IDX file: " + std::to_string(bytes.size()) + " bytes found",
         "at least " + std::to_string(header) + " bytes of header");
  const std::uint32_t found = big_endian32(bytes.data());
  if (found != magic)
    fail(path, "wrong magic number " + hex32(found), hex32(magic) + " for an IDX " + kind + " file");
  if (bytes.size() < header)
    fail(path, "truncated IDX file: " + std::to_string(bytes.size()) + " bytes found",
         std::to_string(header) + " bytes of header");
  std::vector<std::uint32_t> sizes(dims);
  std::string sizes_text;
  constexpr std::uint64_t kTooLarge = std::uint64_t{1} << 48;  // only a corrupt header asks for this
  std::uint64_t total = 1;
  for (std::size_t d = 0; d < dims; ++d) {
    sizes[d] = big_endian32(bytes.data() + 4 + 4 * d);
    sizes_text += (d ? " x " : "") + std::to_string(sizes[d]);
    if (d > 0 && sizes[d] == 0) fail(path, "an image dimension is 0 (" + sizes_text + ")", "rows and columns >= 1");
    total = (sizes[d] != 0 && total > kTooLarge / sizes[d]) ? kTooLarge + 1 : total * sizes[d];
  }
  if (total > kTooLarge)
    fail(path, "the header's sizes " + sizes_text + " imply more than 2^48 bytes of data",
         "a file of the size its header gives");
  const std::uint64_t expected = header + total;
  if (bytes.size() != expected)
    fail(path,
         std::string(bytes.size() < expected ? "truncated IDX file" : "IDX file too long") + ": " +
             std::to_string(bytes.size()) + " bytes found",
         std::to_string(expected) + " bytes (" + std::to_string(header) + " of header + " + sizes_text + ")");
  return sizes;
}

void check_label(const std::string& path, std::size_t index, unsigned label, std::uint32_t classes) {
  if (label >= classes)
    fail(path, "label " + std::to_string(label) + " of item " + std::to_string(index) + " is out of range",
         "0.." + std::to_string(classes - 1));
}

}  // namespace

const std::array<float, 256>& byte_to_unit() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<float>(i) / 255.0f;
    return t;
  }();
  return table;
}

Dataset read_idx(const std::string& images_path, const std::string& labels_path, std::size_t limit) {
  const std::vector<unsigned char> image_bytes = read_bytes(images_path);
  const std::vector<std::uint32_t> image_dims = idx_header(images_path, image_bytes, 0x00000803, "images", 3);
  const std::vector<unsigned char> label_bytes = read_bytes(labels_path);
  const std::vector<std::uint32_t> label_dims = idx_header(labels_path, label_bytes, 0x00000801, "labels", 1);
  if (image_dims[0] != label_dims[0])
    fail(labels_path, std::to_string(label_dims[0]) + " labels for the " + std::to_string(image_dims[0]) +
                          " images of " + images_path,
         "one label per image");

  Dataset d;
  d.name = images_path.find("fashion") != std::string::npos ? "fashion-mnist" : "mnist";
  d.height = image_dims[1];
  d.width = image_dims[2];
  d.channels = 1;
  d.classes = 10;
  const std::size_t count = std::min<std::size_t>(image_dims[0], limit);
  const unsigned char* labels = label_bytes.data() + 8;
  d.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    check_label(labels_path, i, labels[i], d.classes);
    d.labels[i] = labels[i];
  }
  const std::array<float, 256>& unit = byte_to_unit();
  const unsigned char* pixels = image_bytes.data() + 16;
  resize_huge(d.images, count * d.image_size());
  for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = unit[pixels[i]];
  return d;
}

Dataset read_cifar(const std::vector<std::string>& files, bool cifar100, std::size_t limit) {
  if (files.empty()) throw UserError("read_cifar: no files given; expected at least one CIFAR batch file");
  Dataset d;
  d.name = cifar100 ? "cifar-100" : "cifar-10";
  d.height = 32;
  d.width = 32;
  d.channels = 3;
  d.classes = cifar100 ? 100 : 10;
  constexpr std::size_t plane = 32 * 32, pixels = 3 * plane;
  const std::size_t label_bytes = cifar100 ? 2 : 1, record = label_bytes + pixels;
  const std::array<float, 256>& unit = byte_to_unit();
  for (const std::string& path : files) {
    if (d.count() >= limit) break;
    const std::vector<unsigned char> bytes = read_bytes(path);
    if (bytes.empty())
      fail(path, "empty file", "CIFAR records of " + std::to_string(record) + " bytes");
    if (bytes.size() % record != 0)
      fail(path,
           "truncated CIFAR file: " + std::to_string(bytes.size()) + " bytes found, the last record has " +
               std::to_string(bytes.size() % record) + " of " + std::to_string(record) + " bytes",
           "a whole number of " + std::to_string(record) + "-byte records, e.g. " +
               std::to_string(bytes.size() / record * record) + " or " +
               std::to_string((bytes.size() / record + 1) * record) + " bytes");
    const std::size_t n = std::min(bytes.size() / record, limit - d.count());
    const std::size_t first = d.count();
    d.labels.resize(first + n);
    d.images.resize((first + n) * pixels);
    for (std::size_t r = 0; r < n; ++r) {
      const unsigned char* rec = bytes.data() + r * record;
      if (cifar100) check_label(path + " (coarse label)", r, rec[0], 20);
      const unsigned label = rec[label_bytes - 1];
      check_label(path, r, label, d.classes);
      d.labels[first + r] = static_cast<std::uint16_t>(label);
      const unsigned char* chw = rec + label_bytes;
      float* hwc = d.images.data() + (first + r) * pixels;
      for (std::size_t p = 0; p < plane; ++p)
        for (std::size_t c = 0; c < 3; ++c) hwc[p * 3 + c] = unit[chw[c * plane + p]];
    }
  }
  return d;
}

Dataset make_synthetic(std::uint32_t count, std::uint32_t height, std::uint32_t width, std::uint32_t channels,
                       std::uint32_t classes, std::uint64_t seed) {
  const auto check = [](bool ok, const std::string& problem, const std::string& expected) {
    if (!ok) throw UserError("synthetic dataset: " + problem + "; expected " + expected);
  };
  check(height >= 1 && width >= 1 && channels >= 1, "an image dimension is 0", "height, width, channels >= 1");
  check(classes >= 1 && classes <= 65536, std::to_string(classes) + " classes", "1..65536 classes");
  const std::uint64_t size = std::uint64_t{height} * width * channels;
  check(size <= (std::uint64_t{1} << 24), std::to_string(size) + " values per image",
        "at most 2^24 values per image");
  check(size * count <= (std::uint64_t{1} << 32), std::to_string(size * count) + " values in all",
        "at most 2^32 values in all");

  SplitMix64 rng(seed);
  std::vector<unsigned char> prototypes(size * classes);
  for (unsigned char& p : prototypes) p = static_cast<unsigned char>(rng.next() >> 56);

  Dataset d;
  d.name = "synthetic";
  d.height = height;
  d.width = width;
  d.channels = channels;
  d.classes = classes;
  d.labels.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) d.labels[i] = static_cast<std::uint16_t>(i % classes);
  for (std::uint32_t i = count; i > 1; --i) std::swap(d.labels[i - 1], d.labels[rng.below(i)]);  // Fisher-Yates

  // Integer arithmetic only, so the values are the same whatever the compiler and FPU.
  const std::array<float, 256>& unit = byte_to_unit();
  resize_huge(d.images, static_cast<std::size_t>(size * count));
  for (std::uint32_t i = 0; i < count; ++i) {
    const unsigned char* prototype = prototypes.data() + d.labels[i] * size;
    float* out = d.images.data() + i * size;
    for (std::uint64_t k = 0; k < size; ++k) {
      const int noise = static_cast<int>(rng.below(2 * kSyntheticNoise + 1)) - kSyntheticNoise;
      out[k] = unit[static_cast<std::size_t>(std::clamp(prototype[k] + noise, 0, 255))];
    }
  }
  return d;
}

std::string fashion_mnist_dir() {
  const char* dir = std::getenv("CESTVP_FASHION_MNIST_DIR");
  return dir && *dir ? dir : "/usr/share/datasets/fashion-mnist";
}

}  // namespace cestvp
