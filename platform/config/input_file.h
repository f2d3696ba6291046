// Opening the files a user names for reading (workload and platform YAML, dataset files and
// images, .npy weights, child runs' reports), in one place: before a byte is read the path must
// be a regular file (a symlink to one is followed) of at most a size limit for its kind, so that
// a FIFO never blocks, a device or a huge file is never read without bound, and a filesystem
// problem (no such file, permission denied, a symlink loop, a directory) is a UserError
//   PATH: problem; expected a regular file ... (WHAT)
// never a crash or a silent empty read. SystemC-free.
//
//   InputFile in(path, "a workload YAML", kMaxTextBytes);
//   const std::string text = in.read_text();
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cestvp {

// Size limits per kind of input, each far above what a real file of the kind needs, and each
// small enough that reading one at the limit cannot exhaust a machine that runs CEST-VP.
inline constexpr std::uint64_t kMaxTextBytes = 16u << 20;  // YAML, JSON reports, dataset lists (wnids.txt):
                                                           // the largest in the repository is 40 KiB
inline constexpr std::uint64_t kMaxDatasetFileBytes = std::uint64_t{1} << 30;  // an IDX (also once
    // decompressed), gzip or CIFAR file: 7x CIFAR-100's train.bin (150 MB), 22x Fashion-MNIST's
    // training images (47 MB)
inline constexpr std::uint64_t kMaxImageBytes = 64u << 20;  // one JPEG or PNG of an image folder (Tiny
                                                            // ImageNet's are about 2 KiB)

class InputFile {
 public:
  // Opens `path` for reading, `what` naming the kind of file in messages ("a workload YAML").
  // The checks run on the path (stat) and again on the opened descriptor (fstat), so that a
  // file swapped for a FIFO in between is still refused; the open itself cannot block
  // (O_NONBLOCK).
  InputFile(const std::string& path, const std::string& what, std::uint64_t limit);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }  // at open

  // Up to `bytes` bytes from the current position; fewer only at the end of the file.
  // UserError on a read error.
  std::size_t read(void* dst, std::size_t bytes);
  // The whole file: size() bytes; UserError when it ends early or grew past the limit while
  // it was read.
  std::vector<unsigned char> read_all();
  std::string read_text();

 private:
  std::string path_, what_;
  std::uint64_t limit_ = 0, size_ = 0;
  int fd_ = -1;
};

}  // namespace cestvp
