// image_folder datasets: Tiny ImageNet and torchvision ImageFolder directories built here from
// JPEG and PNG files this test encodes itself (libjpeg at quality 100 with full-resolution
// chroma, libpng's classic API), their listing (classes, order, labels), decoded pixels, the
// round-robin limit, every bad-input case, and the workload keys. Expected labels and orders
// are derived by hand from the file names next to each check; PNG pixels must come back
// exactly, JPEG pixels of flat 8x8 blocks within +-2.
#include <gtest/gtest.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <jpeglib.h>  // after <cstdio>
#include <png.h>

#include "data/image_folder.h"
#include "loader/training_image.h"
#include "loader/workload.h"
#include "satvp_command.h"
#include "test_files.h"
#include "vp.h"

namespace cestvp {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using Bytes = std::vector<unsigned char>;

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

constexpr std::uint32_t kSize = 16;  // every image of the test is 16x16 unless it tests the size check
const ImageShape kRgb{kSize, kSize, 3}, kGray{kSize, kSize, 1};

// An empty directory `name` of the test's own directory.
fs::path fresh(const std::string& name) {
  const fs::path dir = test::test_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

Bytes read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Bytes that differ from image to image and from pixel to pixel: (seed*37 + y*13 + x*5 + c*71) mod 256.
Bytes pattern(unsigned seed, std::uint32_t channels, std::uint32_t height = kSize, std::uint32_t width = kSize) {
  Bytes b;
  for (std::uint32_t y = 0; y < height; ++y)
    for (std::uint32_t x = 0; x < width; ++x)
      for (std::uint32_t c = 0; c < channels; ++c)
        b.push_back(static_cast<unsigned char>(seed * 37 + y * 13 + x * 5 + c * 71));
  return b;
}

// A 16x16 image of four flat 8x8 blocks: colours[0] top left, [1] top right, [2] bottom left, [3] bottom right.
Bytes blocks(const std::vector<Bytes>& colours) {
  Bytes b;
  for (std::uint32_t y = 0; y < kSize; ++y)
    for (std::uint32_t x = 0; x < kSize; ++x) {
      const Bytes& colour = colours[(y / 8) * 2 + x / 8];
      b.insert(b.end(), colour.begin(), colour.end());
    }
  return b;
}

const std::vector<Bytes> kColours = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
const std::vector<Bytes> kGrays = {{0}, {85}, {170}, {255}};

// libpng's classic API writing `rows` as the file stores them (16-bit samples big-endian);
// false if libpng failed. Plain data only: libpng longjmps out of its calls on errors.
bool write_png(const char* path, std::uint32_t height, std::uint32_t width, int color_type, int bit_depth,
               bool interlaced, const unsigned char* rows, std::size_t row_bytes, const png_color* palette,
               int palette_size) {
  FILE* file = std::fopen(path, "wb");
  if (!file) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    return false;
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, bit_depth, color_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette) png_set_PLTE(png, info, palette, palette_size);
  png_write_info(png, info);
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass)
    for (std::uint32_t y = 0; y < height; ++y) png_write_row(png, rows + y * row_bytes);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return std::fclose(file) == 0;
}

// `rows`: height rows of kSize pixels, as the file stores them.
void png(const fs::path& path, const Bytes& rows, int color_type = PNG_COLOR_TYPE_RGB, int bit_depth = 8,
         bool interlaced = false, const std::vector<png_color>& palette = {}, std::uint32_t height = kSize) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(write_png(path.c_str(), height, kSize, color_type, bit_depth, interlaced, rows.data(), rows.size() / height,
                        palette.empty() ? nullptr : palette.data(), static_cast<int>(palette.size())));
}

// A quality-100 JPEG with full-resolution chroma (4:4:4): flat 8x8 blocks come back within +-2.
Bytes jpeg(const Bytes& pixels, std::uint32_t channels) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);  // the input is valid: no error can reach libjpeg's exit()
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = cinfo.image_height = kSize;
  cinfo.input_components = static_cast<int>(channels);
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  for (int c = 0; c < cinfo.num_components; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < kSize) {
    JSAMPROW row = const_cast<unsigned char*>(pixels.data()) + std::size_t{cinfo.next_scanline} * kSize * channels;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes bytes(buffer, buffer + size);
  std::free(buffer);
  return bytes;
}

void rgb_png(const fs::path& path, unsigned seed) { png(path, pattern(seed, 3)); }
void rgb_jpeg(const fs::path& path) { write(path, jpeg(blocks(kColours), 3)); }
void gray_jpeg(const fs::path& path) { write(path, jpeg(blocks(kGrays), 1)); }

// Image i of d as bytes (x 255, exact for pixels read from bytes).
Bytes bytes_of(const Dataset& d, std::size_t i) {
  Bytes b;
  for (std::size_t k = 0; k < d.image_size(); ++k) b.push_back(static_cast<unsigned char>(d.image(i)[k] * 255.0f + 0.5f));
  return b;
}

void expect_near(const Bytes& got, const Bytes& want, int tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < got.size(); ++k) ASSERT_NEAR(got[k], want[k], tolerance) << "value " << k;
}

std::vector<std::string> paths(const std::vector<ImageFile>& files, const fs::path& root) {
  std::vector<std::string> out;
  for (const ImageFile& f : files) out.push_back(fs::path(f.path).lexically_relative(root).string());
  return out;
}

std::vector<std::uint16_t> labels(const std::vector<ImageFile>& files) {
  std::vector<std::uint16_t> out;
  for (const ImageFile& f : files) out.push_back(f.label);
  return out;
}

// ------------------------------------------------------------------------ the two layouts

// wnids.txt lists n03, n01, n02 (not sorted: the labels are the line order, 0, 1, 2).
fs::path tiny_imagenet() {
  const fs::path root = fresh("tiny-imagenet-200");
  write_text(root / "wnids.txt", "n03\nn01\r\n\nn02\n");  // a Windows line end and an empty line
  gray_jpeg(root / "train/n03/images/n03_0.JPEG");        // Tiny ImageNet has grayscale JPEGs
  rgb_jpeg(root / "train/n03/images/n03_1.JPEG");
  write_text(root / "train/n03/n03_boxes.txt", "n03_0.JPEG\t0\t0\t15\t15\n");
  rgb_png(root / "train/n01/images/n01_0.JPEG", 10);  // a PNG named .JPEG: told by its signature
  rgb_png(root / "train/n01/images/n01_1.JPEG", 11);
  rgb_png(root / "train/n01/images/n01_2.jpeg", 12);
  write_text(root / "train/n01/images/notes.txt", "not an image");
  rgb_png(root / "train/n02/images/n02_0.JPEG", 20);
  for (unsigned i = 0; i < 4; ++i) rgb_png(root / "val/images" / ("val_" + std::to_string(i) + ".JPEG"), 30 + i);
  write_text(root / "val/val_annotations.txt",
             "val_0.JPEG\tn02\t0\t0\t15\t15\nval_1.JPEG\tn03\t1\t2\t3\t4\nval_2.JPEG\tn03\t0\t0\t8\t8\n"
             "val_3.JPEG\tn01\t0\t0\t15\t15\n");
  rgb_png(root / "test/images/test_0.JPEG", 40);  // unlabelled: not read
  return root;
}

TEST(ImageFolder, TinyImageNetListing) {
  const fs::path root = tiny_imagenet();
  const ImageFolder f = list_image_folder(root.string());
  EXPECT_EQ(f.classes, (std::vector<std::string>{"n03", "n01", "n02"}));
  EXPECT_EQ(f.train_dir, (root / "train").string());
  EXPECT_EQ(f.test_dir, (root / "val").string());
  // Round robin: the first image of n03, n01, n02, then the second of n03, n01, then n01's third.
  EXPECT_EQ(paths(f.train, root),
            (std::vector<std::string>{"train/n03/images/n03_0.JPEG", "train/n01/images/n01_0.JPEG",
                                      "train/n02/images/n02_0.JPEG", "train/n03/images/n03_1.JPEG",
                                      "train/n01/images/n01_1.JPEG", "train/n01/images/n01_2.jpeg"}));
  EXPECT_EQ(labels(f.train), (std::vector<std::uint16_t>{0, 1, 2, 0, 1, 1}));
  // val: n03 has val_1 and val_2, n01 val_3, n02 val_0.
  EXPECT_EQ(paths(f.test, root), (std::vector<std::string>{"val/images/val_1.JPEG", "val/images/val_3.JPEG",
                                                           "val/images/val_0.JPEG", "val/images/val_2.JPEG"}));
  EXPECT_EQ(labels(f.test), (std::vector<std::uint16_t>{0, 1, 2, 0}));
}

TEST(ImageFolder, TinyImageNetPixels) {
  const fs::path root = tiny_imagenet();
  const Dataset train = read_image_folder(root.string(), ImageSplit::train, kRgb);
  ASSERT_EQ(train.count(), 6u);
  EXPECT_EQ(train.name, "image_folder");
  EXPECT_EQ(train.height, kSize);
  EXPECT_EQ(train.width, kSize);
  EXPECT_EQ(train.channels, 3u);
  EXPECT_EQ(train.classes, 3u);
  EXPECT_EQ(train.labels, (std::vector<std::uint16_t>{0, 1, 2, 0, 1, 1}));
  // Image 0, the grayscale JPEG: each grey repeated into R, G and B.
  std::vector<Bytes> grey_rgb;
  for (const Bytes& g : kGrays) grey_rgb.push_back({g[0], g[0], g[0]});
  expect_near(bytes_of(train, 0), blocks(grey_rgb), 2);
  expect_near(bytes_of(train, 3), blocks(kColours), 2);
  EXPECT_EQ(bytes_of(train, 1), pattern(10, 3));
  EXPECT_EQ(bytes_of(train, 5), pattern(12, 3));
  EXPECT_EQ(train.image(1)[0], static_cast<float>(pattern(10, 3)[0]) / 255.0f);  // byte / 255 exactly

  const Dataset test = read_image_folder(root.string(), ImageSplit::test, kRgb);
  ASSERT_EQ(test.count(), 4u);
  EXPECT_EQ(test.labels, (std::vector<std::uint16_t>{0, 1, 2, 0}));
  EXPECT_EQ(bytes_of(test, 0), pattern(31, 3));  // val_1
  EXPECT_EQ(bytes_of(test, 3), pattern(32, 3));  // val_2
}

// train/ has bird, cat, dog (labels 0, 1, 2 by name); test/ only bird and dog; val/ is ignored
// since test/ exists (its class fish would be an error).
fs::path torchvision_folder() {
  const fs::path root = fresh("imagefolder");
  rgb_png(root / "train/dog/z.PNG", 1);
  rgb_jpeg(root / "train/dog/y.jpeg");
  rgb_png(root / "train/bird/img2.png", 2);
  rgb_png(root / "train/bird/img10.png", 3);  // byte order: img10 before img2
  write_text(root / "train/bird/README", "not an image");
  rgb_jpeg(root / "train/cat/a.JpG");
  write_text(root / "train/LICENSE", "a file, not a class");
  rgb_png(root / "test/dog/v.png", 4);
  rgb_png(root / "test/dog/u.png", 5);
  rgb_png(root / "test/bird/t.png", 6);
  rgb_png(root / "val/fish/f.png", 7);
  return root;
}

TEST(ImageFolder, TorchvisionListing) {
  const fs::path root = torchvision_folder();
  const ImageFolder f = list_image_folder(root.string());
  EXPECT_EQ(f.classes, (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(f.test_dir, (root / "test").string());
  EXPECT_EQ(paths(f.train, root), (std::vector<std::string>{"train/bird/img10.png", "train/cat/a.JpG",
                                                            "train/dog/y.jpeg", "train/bird/img2.png",
                                                            "train/dog/z.PNG"}));
  EXPECT_EQ(labels(f.train), (std::vector<std::uint16_t>{0, 1, 2, 0, 2}));
  EXPECT_EQ(paths(f.test, root), (std::vector<std::string>{"test/bird/t.png", "test/dog/u.png", "test/dog/v.png"}));
  EXPECT_EQ(labels(f.test), (std::vector<std::uint16_t>{0, 2, 2}));

  const Dataset test = read_image_folder(root.string(), ImageSplit::test, kRgb);
  EXPECT_EQ(test.classes, 3u);
  EXPECT_EQ(bytes_of(test, 1), pattern(5, 3));  // u.png
}

TEST(ImageFolder, TorchvisionValWhenNoTest) {
  const fs::path root = fresh("imagefolder");
  rgb_png(root / "train/a/0.png", 1);
  rgb_png(root / "train/b/0.png", 2);
  rgb_png(root / "val/b/0.png", 3);
  const ImageFolder f = list_image_folder(root.string());
  EXPECT_EQ(f.test_dir, (root / "val").string());
  EXPECT_EQ(labels(f.test), std::vector<std::uint16_t>{1});
}

// ------------------------------------------------------------------------------ pixels

// One class "a" holding the given files (read in name order), and a test split of one image.
fs::path one_class() {
  const fs::path root = fresh("one_class");
  rgb_png(root / "test/a/0.png", 0);
  return root;
}

TEST(ImageFolder, PngKinds) {
  const fs::path root = one_class();
  const fs::path a = root / "train/a";
  rgb_png(a / "0_rgb.png", 1);
  const Bytes rgba = pattern(2, 4);
  png(a / "1_rgba.png", rgba, PNG_COLOR_TYPE_RGB_ALPHA);
  png(a / "2_gray.png", pattern(3, 1), PNG_COLOR_TYPE_GRAY);
  // 16-bit grey, big-endian: the high byte is pattern(4), the low byte its complement.
  Bytes gray16;
  for (unsigned char v : pattern(4, 1)) gray16.insert(gray16.end(), {v, static_cast<unsigned char>(~v)});
  png(a / "3_gray16.png", gray16, PNG_COLOR_TYPE_GRAY, 16);
  // Palette of four colours; index (x + y) mod 4.
  Bytes indices;
  for (std::uint32_t y = 0; y < kSize; ++y)
    for (std::uint32_t x = 0; x < kSize; ++x) indices.push_back(static_cast<unsigned char>((x + y) % 4));
  png(a / "4_palette.png", indices, PNG_COLOR_TYPE_PALETTE, 8, false,
      {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}});
  png(a / "5_interlaced.png", pattern(5, 3), PNG_COLOR_TYPE_RGB, 8, true);
  png(a / "6_gray_alpha.png", pattern(6, 2), PNG_COLOR_TYPE_GRAY_ALPHA);

  const Dataset d = read_image_folder(root.string(), ImageSplit::train, kRgb);
  ASSERT_EQ(d.count(), 7u);
  EXPECT_EQ(bytes_of(d, 0), pattern(1, 3));
  Bytes rgb_of_rgba, rgb_of_gray, rgb_of_gray16, rgb_of_palette, rgb_of_gray_alpha;
  for (std::size_t p = 0; p < kSize * kSize; ++p) {
    rgb_of_rgba.insert(rgb_of_rgba.end(), {rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]});  // alpha dropped
    const unsigned char g = pattern(3, 1)[p], g16 = pattern(4, 1)[p], ga = pattern(6, 2)[2 * p];
    rgb_of_gray.insert(rgb_of_gray.end(), {g, g, g});
    rgb_of_gray16.insert(rgb_of_gray16.end(), {g16, g16, g16});
    rgb_of_gray_alpha.insert(rgb_of_gray_alpha.end(), {ga, ga, ga});
    const Bytes& colour = kColours[(p % kSize + p / kSize) % 4];
    rgb_of_palette.insert(rgb_of_palette.end(), colour.begin(), colour.end());
  }
  EXPECT_EQ(bytes_of(d, 1), rgb_of_rgba);
  EXPECT_EQ(bytes_of(d, 2), rgb_of_gray);
  EXPECT_EQ(bytes_of(d, 3), rgb_of_gray16);
  EXPECT_EQ(bytes_of(d, 4), rgb_of_palette);
  EXPECT_EQ(bytes_of(d, 5), pattern(5, 3));
  EXPECT_EQ(bytes_of(d, 6), rgb_of_gray_alpha);
}

// channels 1: RGB becomes BT.601 luma rounded to the nearest byte, by hand:
// (255,0,0) 76.245 -> 76, (0,255,0) 149.685 -> 150, (0,0,255) 29.07 -> 29, (10,20,30) 18.15 -> 18;
// grey stays as it is.
TEST(ImageFolder, OneChannelIsLuma) {
  const fs::path root = one_class();
  png(root / "train/a/0_colours.png", blocks(kColours));
  rgb_jpeg(root / "train/a/1_colours.jpg");
  png(root / "train/a/2_gray.png", pattern(3, 1), PNG_COLOR_TYPE_GRAY);
  gray_jpeg(root / "train/a/3_gray.jpg");
  const Dataset d = read_image_folder(root.string(), ImageSplit::train, kGray);
  ASSERT_EQ(d.count(), 4u);
  EXPECT_EQ(d.channels, 1u);
  const Bytes luma = blocks({{76}, {150}, {29}, {18}});
  EXPECT_EQ(bytes_of(d, 0), luma);
  expect_near(bytes_of(d, 1), luma, 2);
  EXPECT_EQ(bytes_of(d, 2), pattern(3, 1));
  expect_near(bytes_of(d, 3), blocks(kGrays), 2);
}

// ------------------------------------------------------------------------------- limits

// Classes a (3 images), b (1), c (2): round robin gives a0 b0 c0 a1 c1 a2. c1 is corrupt, so a
// limit of 4 must not decode it.
TEST(ImageFolder, LimitTakesRoundRobinAcrossClasses) {
  const fs::path root = one_class();
  for (unsigned i = 0; i < 3; ++i) rgb_png(root / "train/a" / (std::to_string(i) + ".png"), 10 + i);
  rgb_png(root / "train/b/0.png", 20);
  rgb_png(root / "train/c/0.png", 30);
  write_text(root / "train/c/1.png", "corrupt");
  const Dataset d = read_image_folder(root.string(), ImageSplit::train, kRgb, 4);
  ASSERT_EQ(d.count(), 4u);
  EXPECT_EQ(d.labels, (std::vector<std::uint16_t>{0, 1, 2, 0}));
  EXPECT_EQ(bytes_of(d, 2), pattern(30, 3));
  EXPECT_EQ(bytes_of(d, 3), pattern(11, 3));
  EXPECT_CONTAINS(error_of([&] { read_image_folder(root.string(), ImageSplit::train, kRgb); }),
                  (root / "train/c/1.png").string() + ": neither a JPEG nor a PNG file");
}

// ------------------------------------------------------------------------------- errors

std::string train_error(const fs::path& root, const ImageShape& shape = kRgb) {
  return error_of([&] { read_image_folder(root.string(), ImageSplit::train, shape); });
}

TEST(ImageFolder, WrongImageSizeNamesFileAndSizes) {
  const fs::path root = one_class();
  rgb_png(root / "train/a/0.png", 1);
  png(root / "train/a/1.png", pattern(2, 3, 8, kSize), PNG_COLOR_TYPE_RGB, 8, false, {}, 8);
  EXPECT_CONTAINS(train_error(root), (root / "train/a/1.png").string() +
                                         ": the image is 8x16 (height x width); expected 16x16, dataset.height x "
                                         "dataset.width (images are not resized)");
  rgb_jpeg(root / "train/a/1.png");  // a JPEG: told by its signature, checked the same way
  EXPECT_CONTAINS(train_error(root, {kSize, 8, 3}), ": the image is 16x16 (height x width); expected 16x8");
}

TEST(ImageFolder, CorruptFilesNameFileAndLibraryMessage) {
  const fs::path root = one_class();
  const fs::path file = root / "train/a/0.jpg";
  const Bytes whole = jpeg(blocks(kColours), 3);
  write(file, Bytes(whole.begin(), whole.begin() + static_cast<long>(whole.size() / 2)));
  EXPECT_CONTAINS(train_error(root), file.string() + ": corrupt JPEG file (libjpeg: Premature end of JPEG file); "
                                                     "expected a valid JPEG image");
  write(file, Bytes(whole.begin(), whole.begin() + 100));  // ends inside the header tables
  EXPECT_CONTAINS(train_error(root), file.string() + ": corrupt JPEG file (libjpeg: ");

  fs::remove(file);
  const fs::path png_file = root / "train/a/0.png";
  rgb_png(png_file, 1);
  const Bytes good = read(png_file);
  write(png_file, Bytes(good.begin(), good.end() - 30));  // truncated inside IDAT
  EXPECT_CONTAINS(train_error(root), png_file.string() + ": corrupt PNG file (libpng: ");
  Bytes flipped = good;
  flipped[60] ^= 0xFF;  // in IDAT's compressed data (IDAT's data starts at byte 8 + 25 + 8 = 41)
  write(png_file, flipped);
  EXPECT_CONTAINS(train_error(root), png_file.string() + ": corrupt PNG file (libpng: ");
  flipped = good;
  flipped[30] ^= 0xFF;  // IHDR's CRC: bytes 29..32
  write(png_file, flipped);
  EXPECT_CONTAINS(train_error(root), png_file.string() + ": corrupt PNG file (libpng: IHDR: CRC error)");
  write_text(png_file, "");
  EXPECT_CONTAINS(train_error(root), png_file.string() + ": neither a JPEG nor a PNG file");
}

TEST(ImageFolder, TinyImageNetErrors) {
  fs::path root = tiny_imagenet();
  fs::remove(root / "wnids.txt");  // then it looks like an ImageFolder whose classes hold images/
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "train/n01").string() +
                      ": no .jpg, .jpeg or .png files; expected the images of class n01 (a Tiny ImageNet folder "
                      "also needs its wnids.txt)");

  root = tiny_imagenet();
  write_text(root / "val/val_annotations.txt", "val_0.JPEG\tn02\t0\t0\t1\t1\nval_1.JPEG\tn99\t0\t0\t1\t1\n");
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "val/val_annotations.txt").string() + ":2: unknown class 'n99' for val_1.JPEG");

  write_text(root / "val/val_annotations.txt", "val_0.JPEG\tn02\t0\t0\t1\t1\n");
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "val/images/val_1.JPEG").string() + ": no line in ");

  write_text(root / "val/val_annotations.txt", "val_9.JPEG\tn02\t0\t0\t1\t1\n");
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  ":1: no image 'val_9.JPEG' in " + (root / "val/images").string());

  root = tiny_imagenet();
  rgb_png(root / "train/n77/images/0.JPEG", 1);
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "train/n77").string() + ": class 'n77' is not in " + (root / "wnids.txt").string());

  root = tiny_imagenet();
  write_text(root / "wnids.txt", "n03\nn01\nn02\nn01\n");
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "wnids.txt").string() + ":4: class 'n01' is listed twice");
}

TEST(ImageFolder, TorchvisionErrors) {
  fs::path root = torchvision_folder();
  fs::remove(root / "train/bird/img2.png");
  fs::remove(root / "train/bird/img10.png");  // README is left: not an image
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "train/bird").string() + ": no .jpg, .jpeg or .png files; expected the images of class bird");

  root = torchvision_folder();
  rgb_png(root / "test/fish/0.png", 1);
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  (root / "test/fish").string() + ": class 'fish' is not in " + (root / "train").string());

  root = torchvision_folder();
  fs::remove_all(root / "test");  // then val/ is the test split, and its fish is unknown
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }), "class 'fish' is not in");
  fs::remove_all(root / "val");
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }),
                  root.string() + ": no test/ or val/ directory");

  root = fresh("empty");
  EXPECT_CONTAINS(error_of([&] { list_image_folder(root.string()); }), root.string() + ": neither wnids.txt nor train/");
  EXPECT_CONTAINS(error_of([&] { list_image_folder((root / "nothing").string()); }), "nothing: no such directory");
}

// ------------------------------------------------------------------------------ workload

const PlatformConfig& platform() {
  static const PlatformConfig config = test::default_config();
  return config;
}

std::string workload(const fs::path& root, const std::string& dataset_keys) {
  return test::write_file("w.yaml", "name: folder\nprogram: train\nbatch: 2\noptimizer: {lr: 0.1}\n"
                                    "dataset: {name: image_folder, path: \"" + root.string() + "\"" + dataset_keys +
                                        "}\nnetwork: {layers: [{type: flatten}, {type: linear, out: 3}, "
                                        "{type: softmax_ce}]}\n");
}

TEST(ImageFolder, WorkloadTakesClassesAndCountsFromTheFolder) {
  const fs::path root = torchvision_folder();
  const Workload w = load_workload(workload(root, ", height: 16, width: 16"), {}, &platform());
  const TrainDataset& d = w.train.dataset;
  EXPECT_EQ(d.classes, 3u);  // bird, cat, dog
  EXPECT_EQ(d.standard_train, 5u);
  EXPECT_EQ(d.standard_test, 3u);
  EXPECT_EQ(d.channels, 3u);  // the default
  EXPECT_EQ(d.train_files, std::vector<std::string>{(root / "train").string()});
  EXPECT_EQ(w.train.layers[1].in.c, 16u * 16u * 3u);
  const Workload again = load_workload(test::write_file("resolved.yaml", to_yaml(w)), {}, &platform());
  EXPECT_EQ(again.train.dataset.height, 16u);

  // The loader's DDR image holds the PNGs' bytes in the listing's order.
  const TrainingImage image = build_training_image(w.train, VirtualPlatform::make_boot_info(platform()));
  EXPECT_EQ(image.train_labels, (std::vector<std::uint8_t>{0, 1, 2, 0, 2}));
  EXPECT_EQ(Bytes(image.train_images.begin(), image.train_images.begin() + 768), pattern(3, 3));  // bird/img10.png
  EXPECT_EQ(image.test_labels, (std::vector<std::uint8_t>{0, 2, 2}));
  EXPECT_EQ(Bytes(image.test_images.begin() + 768 * 2, image.test_images.end()), pattern(4, 3));  // dog/v.png
}

TEST(ImageFolder, WorkloadErrors) {
  const fs::path root = torchvision_folder();
  const auto error = [](const std::string& path, const std::vector<std::string>& sets = {}) {
    return error_of([&] { load_workload(path, parse_overrides(sets), &platform()); });
  };
  const std::string good = workload(root, ", height: 16, width: 16, channels: 3, train_samples: 0");
  EXPECT_CONTAINS(error(good, {"dataset.path=\"\""}), "dataset.path: image_folder has no default location");
  EXPECT_CONTAINS(error(good, {"dataset.path=/nonexistent/folder"}), "dataset.path: no directory '/nonexistent/folder'");
  EXPECT_CONTAINS(error(good, {"dataset.train_samples=6"}), "dataset.train_samples: '6' is out of range");
  EXPECT_CONTAINS(error(good, {"dataset.channels=2"}), "dataset.channels: 2 channels; expected 1 (grayscale) or 3 (RGB)");
  EXPECT_CONTAINS(error(good, {"dataset.name=cifar10"}),
                  "dataset.height: cifar10 images are 32x32x3 (height x width x channels); expected 32, or no "
                  "dataset.height");
  fs::remove_all(root / "train/cat");
  fs::remove_all(root / "train/dog");
  fs::remove_all(root / "test/dog");
  EXPECT_CONTAINS(error(good), "dataset.path: " + root.string() + " has 1 classes; expected 2..256 classes");
}

}  // namespace
}  // namespace cestvp
