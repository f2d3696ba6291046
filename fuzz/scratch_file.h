// The loaders read files: a harness writes its input to a file of its own process (libFuzzer may
// run several), removed when the process exits normally.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace cestvp::fuzz {

class ScratchFile {
 public:
  explicit ScratchFile(const std::string& stem)
      : path_((std::filesystem::temp_directory_path() / (stem + "." + std::to_string(getpid()) + ".yaml")).string()) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& path() const { return path_; }
  void write(const void* data, std::size_t size) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out.flush()) {
      std::fprintf(stderr, "cannot write %s\n", path_.c_str());
      std::abort();
    }
  }
  void write(const std::string& text) const { write(text.data(), text.size()); }

 private:
  std::string path_;
};

}  // namespace cestvp::fuzz
