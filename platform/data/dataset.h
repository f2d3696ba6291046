// Training and test data for networks trained on the platform: Fashion-MNIST / MNIST (IDX),
// CIFAR-10 / CIFAR-100 (binary batches) and a seeded synthetic generator. SystemC-free.
// Every dataset is held the same way: float pixels in [0,1] (byte / 255), NHWC, one label
// per image. Anything wrong with a file is a UserError of the form
//   FILE: what is wrong; expected <what>
// Nothing here reads outside the bytes a file actually has. See docs/datasets.md.
//
//   Dataset train = read_idx(fashion_mnist_dir() + "/train-images-idx3-ubyte.gz",
//                            fashion_mnist_dir() + "/train-labels-idx1-ubyte.gz");
//   const float* first = train.image(0);  // 28 x 28 x 1 floats
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cestvp {

struct Dataset {
  std::string name;  // "fashion-mnist", "mnist", "cifar-10", "cifar-100", "synthetic", "image_folder"
  std::uint32_t height = 0, width = 0, channels = 0, classes = 0;
  std::vector<float> images;          // count x height x width x channels, each in [0,1]
  std::vector<std::uint16_t> labels;  // count, each in 0..classes-1

  std::size_t count() const { return labels.size(); }
  std::size_t image_size() const { return std::size_t{height} * width * channels; }  // floats
  const float* image(std::size_t i) const { return images.data() + i * image_size(); }
};

// byte / 255 for every byte value, so that all readers (also image_folder.h's) normalise
// identically and fast.
const std::array<float, 256>& byte_to_unit();

// What a workload expects of an IDX file's images: rows x cols, for dataset `name` (rows 0: any).
struct IdxImages {
  std::uint32_t rows = 0, cols = 0;
  std::string name;
};

// MNIST-style IDX files, each gzip-compressed or plain (told apart by the gzip magic 1f 8b):
// images (magic 0x00000803, count x rows x cols bytes) and labels (magic 0x00000801, labels
// 0..9). Reads the first `limit` images. The name is "fashion-mnist" if the images path
// contains "fashion", "mnist" otherwise. The header is checked before the data is read (image
// size as `expect`ed, at most kMaxDatasetFileBytes in all), and no more data is decompressed
// than it implies (one byte more tells a file that is too long); every file is read through
// InputFile.
Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 std::size_t limit = SIZE_MAX, const IdxImages& expect = {});

// CIFAR binary batches (data_batch_1.bin ... test_batch.bin, or CIFAR-100's train.bin /
// test.bin), read in the order given: records of 1 label byte (CIFAR-100: coarse and fine
// label bytes; the fine label is used) and 32x32x3 pixel bytes stored CHW, converted to HWC.
// Reads the first `limit` records over all files; a file (decompressed) of at most
// kMaxDatasetFileBytes.
Dataset read_cifar(const std::vector<std::string>& files, bool cifar100,
                   std::size_t limit = SIZE_MAX);

// `count` images of `classes` learnable classes, the same on every machine for a given seed.
// Each class has a random prototype image; a sample is its prototype plus uniform noise of
// +-kSyntheticNoise/255 per value, clamped and quantised to multiples of 1/255 like real image
// data. Labels cycle through all classes (every class appears if count >= classes), in a
// seeded random order.
constexpr int kSyntheticNoise = 96;
Dataset make_synthetic(std::uint32_t count, std::uint32_t height, std::uint32_t width,
                       std::uint32_t channels, std::uint32_t classes, std::uint64_t seed);

// The directory of the Fashion-MNIST files {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz:
// $CESTVP_FASHION_MNIST_DIR if set, else where Debian's dataset-fashion-mnist package puts
// them, /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();

}  // namespace cestvp
