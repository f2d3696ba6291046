#include "data/dataset.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <sys/mman.h>
#include <zlib.h>

#include "config/input_file.h"
#include "config/units.h"
#include "config/user_error.h"
#include "data/splitmix64.h"

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

// A dataset file's bytes, decompressed on the fly when it starts with the gzip magic 1f 8b (one
// or more concatenated members, as gzip(1) writes them), so that a reader takes only as many
// bytes as it asks for, and a file that claims gigabytes is never inflated into memory first.
class DataFile {
 public:
  explicit DataFile(const std::string& path) : file_(path, "a dataset file", kMaxDatasetFileBytes), in_(1 << 16) {
    fill(2);
    gzip_ = avail_ >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (gzip_ && inflateInit2(&z_, 15 + 16) != Z_OK) fail(path, "zlib cannot be initialised", "working zlib");
  }
  ~DataFile() {
    if (gzip_) inflateEnd(&z_);
  }
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;

  const std::string& path() const { return file_.path(); }
  bool gzip() const { return gzip_; }
  std::uint64_t file_size() const { return file_.size(); }

  // Up to n bytes; fewer only at the end of the data. UserError on corrupt gzip data.
  std::size_t read(unsigned char* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n && !ended_) {
      if (!gzip_) {
        if (avail_ == 0 && fill(1) == 0) break;
        const std::size_t take = std::min(avail_, n - done);
        std::copy(in_.begin() + static_cast<std::ptrdiff_t>(next_), in_.begin() + static_cast<std::ptrdiff_t>(next_ + take),
                  dst + done);
        next_ += take, avail_ -= take, done += take;
        continue;
      }
      if (member_ended_) next_member();
      else done += inflate_into(dst + done, n - done);
    }
    return done;
  }

  // Reads and drops up to n bytes; returns how many there were.
  std::uint64_t skip(std::uint64_t n) {
    std::vector<unsigned char> scratch(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 16)));
    std::uint64_t done = 0;
    while (done < n) {
      const std::size_t got = read(scratch.data(), static_cast<std::size_t>(std::min<std::uint64_t>(n - done, scratch.size())));
      if (got == 0) break;
      done += got;
    }
    return done;
  }

 private:
  // Makes at least `want` unread bytes available if the file has them; returns how many are.
  std::size_t fill(std::size_t want) {
    if (avail_ >= want) return avail_;
    std::copy(in_.begin() + static_cast<std::ptrdiff_t>(next_), in_.begin() + static_cast<std::ptrdiff_t>(next_ + avail_),
              in_.begin());
    next_ = 0;
    const std::size_t got = file_.read(in_.data() + avail_, in_.size() - avail_);
    avail_ += got, file_read_ += got;
    return avail_;
  }

  std::size_t inflate_into(unsigned char* dst, std::size_t n) {
    if (avail_ == 0 && fill(1) == 0)
      fail(path(), "corrupt gzip file: the compressed data ends early (truncated?)", "a complete gzip stream");
    z_.next_in = in_.data() + next_;
    z_.avail_in = static_cast<uInt>(std::min<std::size_t>(avail_, std::numeric_limits<uInt>::max()));
    z_.next_out = dst;
    z_.avail_out = static_cast<uInt>(std::min<std::size_t>(n, std::numeric_limits<uInt>::max()));
    const uInt in_before = z_.avail_in, out_before = z_.avail_out;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    next_ += in_before - z_.avail_in, avail_ -= in_before - z_.avail_in;
    if (rc == Z_STREAM_END) member_ended_ = true;
    else if (rc != Z_OK && rc != Z_BUF_ERROR)
      fail(path(), std::string("corrupt gzip file") + (z_.msg ? std::string(" (") + z_.msg + ")" : ""), "valid gzip data");
    return out_before - z_.avail_out;
  }

  // After a member's end: the end of the data, another member, or garbage.
  void next_member() {
    if (fill(2) == 0) {
      ended_ = true;
      return;
    }
    if (avail_ < 2 || in_[next_] != 0x1f || in_[next_ + 1] != 0x8b) {
      const std::uint64_t left = avail_ + (file_.size() - std::min(file_.size(), file_read_));
      fail(path(), "corrupt gzip file: " + std::to_string(left) + " bytes of trailing data", "nothing after the gzip stream");
    }
    inflateReset(&z_);
    member_ended_ = false;
  }

  InputFile file_;
  std::vector<unsigned char> in_;
  std::size_t next_ = 0, avail_ = 0;  // unread bytes: in_[next_, next_ + avail_)
  std::uint64_t file_read_ = 0;       // bytes of the file read into in_ so far
  bool gzip_ = false, member_ended_ = false, ended_ = false;
  z_stream z_{};
};

std::uint32_t big_endian32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}

// An IDX file: its sizes, and the first `keep` items (the first size is the item count).
struct Idx {
  std::vector<std::uint32_t> sizes;
  std::vector<unsigned char> items;
  std::size_t kept = 0;
};

// Reads an IDX file: the header first (magic, `dims` sizes, the image size the caller expects
// when `expect` has one), then only as many bytes as the header implies: the first `keep`
// items into memory, the rest read and dropped, so that a file or gzip stream longer than its
// header says is "too long" and a shorter one "truncated" without either being held whole.
Idx read_idx_file(const std::string& path, std::uint32_t magic, const char* kind, std::size_t dims, std::size_t keep,
                  const IdxImages* expect) {
  DataFile in(path);
  const std::size_t header = 4 + 4 * dims;
  unsigned char head[16];
  const std::size_t got = in.read(head, header);
  if (got < 4)
    fail(path, "truncated IDX file: " + std::to_string(got) + " bytes found",
         "at least " + std::to_string(header) + " bytes of header");
  const std::uint32_t found = big_endian32(head);
  if (found != magic) fail(path, "wrong magic number " + hex32(found), hex32(magic) + " for an IDX " + kind + " file");
  if (got < header)
    fail(path, "truncated IDX file: " + std::to_string(got) + " bytes found", std::to_string(header) + " bytes of header");
  Idx idx;
  idx.sizes.resize(dims);
  std::string sizes_text;
  std::uint64_t item = 1;  // bytes of one item; at most kMaxDatasetFileBytes, or the file is refused
  for (std::size_t d = 0; d < dims; ++d) {
    idx.sizes[d] = big_endian32(head + 4 + 4 * d);
    sizes_text += (d ? " x " : "") + std::to_string(idx.sizes[d]);
    if (d > 0) item = std::min<std::uint64_t>(item * idx.sizes[d], kMaxDatasetFileBytes + 1);
  }
  for (std::size_t d = 1; d < dims; ++d)
    if (idx.sizes[d] == 0) fail(path, "an image dimension is 0 (" + sizes_text + ")", "rows and columns >= 1");
  if (expect && expect->rows && (idx.sizes[1] != expect->rows || idx.sizes[2] != expect->cols))
    fail(path, "images are " + std::to_string(idx.sizes[1]) + "x" + std::to_string(idx.sizes[2]),
         std::to_string(expect->rows) + "x" + std::to_string(expect->cols) + " (" + expect->name + ")");
  const std::uint64_t count = idx.sizes[0];
  if (item > kMaxDatasetFileBytes || count * item > kMaxDatasetFileBytes - header)
    fail(path, "the header's sizes " + sizes_text + " imply more than " + format_size(kMaxDatasetFileBytes) + " of data",
         "an IDX file of at most " + format_size(kMaxDatasetFileBytes));
  const std::uint64_t expected = header + count * item;
  const auto wrong_size = [&](std::uint64_t size, bool more) {
    fail(path,
         std::string(size < expected ? "truncated IDX file" : "IDX file too long") + ": " + (more ? "more than " : "") +
             std::to_string(size) + " bytes found" + (in.gzip() ? " after decompression" : ""),
         std::to_string(expected) + " bytes (" + std::to_string(header) + " of header + " + sizes_text + ")");
  };
  if (!in.gzip() && in.file_size() != expected) wrong_size(in.file_size(), false);
  idx.kept = static_cast<std::size_t>(std::min<std::uint64_t>(count, keep));
  resize_huge(idx.items, static_cast<std::size_t>(idx.kept * item));
  const std::size_t read = in.read(idx.items.data(), idx.items.size());
  if (read < idx.items.size()) wrong_size(header + read, false);
  const std::uint64_t rest = (count - idx.kept) * item, skipped = in.skip(rest);
  if (skipped < rest) wrong_size(header + idx.items.size() + skipped, false);
  unsigned char extra;
  if (in.read(&extra, 1) != 0) wrong_size(expected, true);
  return idx;
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

Dataset read_idx(const std::string& images_path, const std::string& labels_path, std::size_t limit,
                 const IdxImages& expect) {
  const Idx images = read_idx_file(images_path, 0x00000803, "images", 3, limit, &expect);
  const Idx labels = read_idx_file(labels_path, 0x00000801, "labels", 1, limit, nullptr);
  if (images.sizes[0] != labels.sizes[0])
    fail(labels_path, std::to_string(labels.sizes[0]) + " labels for the " + std::to_string(images.sizes[0]) +
                          " images of " + images_path,
         "one label per image");

  Dataset d;
  d.name = images_path.find("fashion") != std::string::npos ? "fashion-mnist" : "mnist";
  d.height = images.sizes[1];
  d.width = images.sizes[2];
  d.channels = 1;
  d.classes = 10;
  const std::size_t count = images.kept;
  d.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    check_label(labels_path, i, labels.items[i], d.classes);
    d.labels[i] = labels.items[i];
  }
  const std::array<float, 256>& unit = byte_to_unit();
  resize_huge(d.images, count * d.image_size());
  for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = unit[images.items[i]];
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
  std::vector<unsigned char> rec(record);
  for (const std::string& path : files) {
    if (d.count() >= limit) break;
    // Record by record: only the records kept are held; the rest are read to check the size.
    DataFile in(path);
    std::uint64_t size = 0;
    for (std::size_t r = 0;; ++r) {
      const std::size_t got = in.read(rec.data(), record);
      size += got;
      if (got < record) {
        if (size == 0) fail(path, "empty file", "CIFAR records of " + std::to_string(record) + " bytes");
        if (got == 0) break;
        fail(path,
             "truncated CIFAR file: " + std::to_string(size) + " bytes found, the last record has " +
                 std::to_string(got) + " of " + std::to_string(record) + " bytes",
             "a whole number of " + std::to_string(record) + "-byte records, e.g. " + std::to_string(size - got) +
                 " or " + std::to_string(size - got + record) + " bytes");
      }
      if (size > kMaxDatasetFileBytes)
        fail(path, "more than " + format_size(kMaxDatasetFileBytes) + " of data once decompressed",
             "a dataset file of at most " + format_size(kMaxDatasetFileBytes));
      if (d.count() >= limit) continue;
      if (cifar100) check_label(path + " (coarse label)", r, rec[0], 20);
      const unsigned label = rec[label_bytes - 1];
      check_label(path, r, label, d.classes);
      d.labels.push_back(static_cast<std::uint16_t>(label));
      const std::size_t first = d.images.size();
      d.images.resize(first + pixels);
      const unsigned char* chw = rec.data() + label_bytes;
      float* hwc = d.images.data() + first;
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
