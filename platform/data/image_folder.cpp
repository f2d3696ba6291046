#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <jpeglib.h>  // after <cstdio>: it uses FILE and size_t without including them
#include <png.h>

#include "config/input_file.h"
#include "config/user_error.h"

namespace cestvp {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& file, const std::string& problem, const std::string& expected) {
  throw UserError(file + ": " + problem + "; expected " + expected);
}

// ------------------------------------------------------------------------------- listing

// The entries of `dir` that are directories (`want_dirs`) or image files, sorted by name.
std::vector<std::string> names_in(const fs::path& dir, bool want_dirs) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error) fail(dir.string(), "cannot list the directory (" + error.message() + ")", "a readable directory");
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    const fs::path& path = it->path();
    if (want_dirs) {
      if (it->is_directory(error)) names.push_back(path.filename().string());
      continue;
    }
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if ((ext == ".jpg" || ext == ".jpeg" || ext == ".png") && !it->is_directory(error))
      names.push_back(path.filename().string());
  }
  if (error) fail(dir.string(), "cannot list the directory (" + error.message() + ")", "a readable directory");
  std::sort(names.begin(), names.end());  // byte order: the same everywhere, and Python's sorted()
  return names;
}

// The paths of the image files in `dir`, sorted by name; `what` they are, for errors.
std::vector<std::string> images_in(const fs::path& dir, const std::string& what) {
  if (!fs::is_directory(dir)) fail(dir.string(), "no such directory", what);
  std::vector<std::string> files = names_in(dir, false);
  if (files.empty())
    fail(dir.string(), "no .jpg, .jpeg or .png files",
         what + (fs::is_directory(dir / "images") ? " (a Tiny ImageNet folder also needs its wnids.txt)" : ""));
  for (std::string& file : files) file = (dir / file).string();
  return files;
}

// Every class's files (sorted), interleaved into the reading order ImageFolder describes.
std::vector<ImageFile> round_robin(const std::vector<std::vector<std::string>>& per_class) {
  std::size_t longest = 0;
  for (const std::vector<std::string>& files : per_class) longest = std::max(longest, files.size());
  std::vector<ImageFile> files;
  for (std::size_t rank = 0; rank < longest; ++rank)
    for (std::size_t label = 0; label < per_class.size(); ++label)
      if (rank < per_class[label].size()) files.push_back({per_class[label][rank], static_cast<std::uint16_t>(label)});
  return files;
}

// The lines of a text file without trailing whitespace (Windows line ends included).
std::vector<std::string> text_lines(const fs::path& path) {
  std::istringstream in(InputFile(path.string(), "a text file of the dataset", kMaxTextBytes).read_text());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    lines.push_back(line);
  }
  return lines;
}

std::string line_of(const fs::path& path, std::size_t index) {
  return path.string() + ":" + std::to_string(index + 1);
}

ImageFolder list_tiny_imagenet(const fs::path& root) {
  ImageFolder folder;
  folder.train_dir = (root / "train").string();
  folder.test_dir = (root / "val").string();
  const fs::path wnids = root / "wnids.txt";
  std::map<std::string, std::uint16_t> label_of;
  const std::vector<std::string> lines = text_lines(wnids);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    if (folder.classes.size() == 65536) fail(line_of(wnids, i), "more than 65536 classes", "at most 65536");
    if (!label_of.emplace(lines[i], static_cast<std::uint16_t>(folder.classes.size())).second)
      fail(line_of(wnids, i), "class '" + lines[i] + "' is listed twice", "each class once");
    folder.classes.push_back(lines[i]);
  }
  if (folder.classes.empty()) fail(wnids.string(), "no classes", "one class id (wnid) a line");
  for (const std::string& dir : names_in(folder.train_dir, true))
    if (!label_of.count(dir))
      fail((root / "train" / dir).string(), "class '" + dir + "' is not in " + wnids.string(),
           "a directory for each class of wnids.txt and no other");

  std::vector<std::vector<std::string>> train;
  for (const std::string& wnid : folder.classes)
    train.push_back(images_in(root / "train" / wnid / "images", "the images of class " + wnid));
  folder.train = round_robin(train);

  // val/images: every image needs exactly one line of val_annotations.txt, which gives its class.
  const fs::path images = root / "val" / "images", annotations = root / "val" / "val_annotations.txt";
  std::map<std::string, int> label_of_image;  // -1: no line yet
  for (const std::string& file : images_in(images, "the validation images"))
    label_of_image[fs::path(file).filename().string()] = -1;
  const std::vector<std::string> entries = text_lines(annotations);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].empty()) continue;
    std::istringstream fields(entries[i]);
    std::string file, wnid;
    std::getline(fields, file, '\t');
    std::getline(fields, wnid, '\t');
    const auto image = label_of_image.find(file);
    if (image == label_of_image.end())
      fail(line_of(annotations, i), "no image '" + file + "' in " + images.string(),
           "a line per image of val/images: file name, TAB, class id, TAB, box");
    const auto label = label_of.find(wnid);
    if (label == label_of.end())
      fail(line_of(annotations, i), "unknown class '" + wnid + "' for " + file, "a class id of " + wnids.string());
    if (image->second >= 0) fail(line_of(annotations, i), file + " is listed twice", "one line per image");
    image->second = label->second;
  }
  std::vector<std::vector<std::string>> test(folder.classes.size());
  for (const auto& [file, label] : label_of_image) {
    if (label < 0) fail((images / file).string(), "no line in " + annotations.string(), "a class for every image");
    test[static_cast<std::size_t>(label)].push_back((images / file).string());  // the map keeps them sorted
  }
  folder.test = round_robin(test);
  return folder;
}

ImageFolder list_torchvision(const fs::path& root) {
  ImageFolder folder;
  folder.train_dir = (root / "train").string();
  folder.test_dir = (root / (fs::is_directory(root / "test") ? "test" : "val")).string();
  if (!fs::is_directory(folder.test_dir))
    fail(root.string(), "no test/ or val/ directory", "test/<class>/ or val/<class>/ next to train/<class>/");
  folder.classes = names_in(folder.train_dir, true);
  if (folder.classes.empty()) fail(folder.train_dir, "no class directories", "train/<class>/ with the images");
  if (folder.classes.size() > 65536)
    fail(folder.train_dir, std::to_string(folder.classes.size()) + " classes", "at most 65536");
  std::vector<std::vector<std::string>> train, test(folder.classes.size());
  for (const std::string& name : folder.classes)
    train.push_back(images_in(fs::path(folder.train_dir) / name, "the images of class " + name));
  for (const std::string& name : names_in(folder.test_dir, true)) {
    const auto it = std::find(folder.classes.begin(), folder.classes.end(), name);
    const fs::path dir = fs::path(folder.test_dir) / name;
    if (it == folder.classes.end())
      fail(dir.string(), "class '" + name + "' is not in " + folder.train_dir,
           "test classes that are directories of train/ too");
    test[static_cast<std::size_t>(it - folder.classes.begin())] = images_in(dir, "the images of class " + name);
  }
  folder.train = round_robin(train);
  folder.test = round_robin(test);
  return folder;
}

// ------------------------------------------------------------------------------ decoding

// What a decoder found. Plain data: it is filled inside the setjmp frames below.
struct Decoded {
  std::uint32_t height, width, channels;  // of the file; channels after decoding: 1 (gray) or 3 (RGB)
  char error[JMSG_LENGTH_MAX];            // what the library said if decoding failed, else ""
};

struct JpegErrors {
  jpeg_error_mgr mgr;  // first: libjpeg hands the handlers a pointer to it
  std::jmp_buf jump;
  char* message;
};

// libjpeg's default error_exit calls exit(): return to decode_jpeg instead.
void jpeg_error_exit(j_common_ptr cinfo) {
  JpegErrors* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// A warning (level -1) means damaged data that libjpeg would decode anyway, filling what is
// missing with grey (a truncated file is one); that is an error here. Trace messages are dropped.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0) jpeg_error_exit(cinfo);
}

// Decodes a JPEG of height x width into `pixels` (room for height x width x 3 bytes); another
// size only sets out's size. No object with a destructor lives here: longjmp would skip it.
void decode_jpeg(const unsigned char* data, std::size_t size, std::uint32_t height, std::uint32_t width,
                 unsigned char* pixels, Decoded* out) {
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_error_exit;
  errors.mgr.emit_message = jpeg_emit_message;
  errors.message = out->error;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, size);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  out->height = cinfo.image_height;
  out->width = cinfo.image_width;
  if (out->height == height && out->width == width) {
    jpeg_start_decompress(&cinfo);
    out->channels = static_cast<std::uint32_t>(cinfo.output_components);
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = pixels + std::size_t{cinfo.output_scanline} * width * out->channels;
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
  }
  jpeg_destroy_decompress(&cinfo);
}

struct PngInput {
  const unsigned char* data;
  std::size_t size, at;
  char* message;
};

void png_read_memory(png_structp png, png_bytep to, png_size_t n) {
  PngInput* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->size - in->at) png_error(png, "the file ends early (truncated?)");
  std::memcpy(to, in->data + in->at, n);
  in->at += n;
}

// libpng's default error handler prints to stderr before it longjmps: keep the message instead.
void png_keep_error(png_structp png, png_const_charp message) {
  PngInput* in = static_cast<PngInput*>(png_get_io_ptr(png));
  std::snprintf(in->message, JMSG_LENGTH_MAX, "%s", message);
  png_longjmp(png, 1);
}

// Warnings (a known-incorrect sRGB profile, say) leave the pixels right: ignore them.
void png_ignore_warning(png_structp, png_const_charp) {}

// As decode_jpeg, for PNG: palette and low bit depths expanded, 16 bits stripped to 8, alpha
// dropped. No object with a destructor lives here: longjmp would skip it.
void decode_png(const unsigned char* data, std::size_t size, std::uint32_t height, std::uint32_t width,
                unsigned char* pixels, Decoded* out) {
  PngInput in{data, size, 0, out->error};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, png_keep_error, png_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(out->error, sizeof out->error, "out of memory");
    return;
  }
  png_set_read_fn(png, &in, png_read_memory);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return;
  }
  png_read_info(png, info);
  out->height = png_get_image_height(png, info);
  out->width = png_get_image_width(png, info);
  if (out->height == height && out->width == width) {  // each transform is a no-op where it does not apply
    png_set_palette_to_rgb(png);
    png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    out->channels = png_get_channels(png, info);
    for (int pass = 0; pass < passes; ++pass)
      for (std::uint32_t y = 0; y < height; ++y)
        png_read_row(png, pixels + std::size_t{y} * width * out->channels, nullptr);
    png_read_end(png, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
}

// Decodes one image file (told JPEG or PNG by its signature, not its name) into
// `out` (height x width x shape.channels floats); `pixels` is scratch space.
void read_image(const std::string& path, const ImageShape& shape, std::vector<unsigned char>& pixels, float* out) {
  const std::vector<unsigned char> bytes = InputFile(path, "a JPEG or PNG image", kMaxImageBytes).read_all();
  const bool jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  const bool png = bytes.size() >= 8 && png_sig_cmp(bytes.data(), 0, 8) == 0;
  if (!jpeg && !png) fail(path, "neither a JPEG nor a PNG file (no signature)", "a JPEG or PNG image");
  Decoded d{};
  if (jpeg) decode_jpeg(bytes.data(), bytes.size(), shape.height, shape.width, pixels.data(), &d);
  else decode_png(bytes.data(), bytes.size(), shape.height, shape.width, pixels.data(), &d);
  if (d.error[0])
    fail(path, std::string("corrupt ") + (jpeg ? "JPEG file (libjpeg: " : "PNG file (libpng: ") + d.error + ")",
         std::string("a valid ") + (jpeg ? "JPEG" : "PNG") + " image");
  if (d.height != shape.height || d.width != shape.width)
    fail(path, "the image is " + std::to_string(d.height) + "x" + std::to_string(d.width) + " (height x width)",
         std::to_string(shape.height) + "x" + std::to_string(shape.width) +
             ", dataset.height x dataset.width (images are not resized)");
  const std::array<float, 256>& unit = byte_to_unit();
  const std::size_t count = std::size_t{shape.height} * shape.width;
  for (std::size_t p = 0; p < count; ++p) {
    const unsigned char* in = pixels.data() + p * d.channels;
    if (shape.channels == d.channels) {
      for (std::uint32_t c = 0; c < d.channels; ++c) out[p * d.channels + c] = unit[in[c]];
    } else if (shape.channels == 3) {  // grayscale file
      out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = unit[in[0]];
    } else {  // RGB file, BT.601 luma rounded to the nearest byte
      out[p] = unit[(299u * in[0] + 587u * in[1] + 114u * in[2] + 500u) / 1000u];
    }
  }
}

}  // namespace

ImageFolder list_image_folder(const std::string& root) {
  if (!fs::is_directory(root))
    fail(root, "no such directory", "a Tiny ImageNet or ImageFolder dataset directory");
  if (fs::exists(fs::path(root) / "wnids.txt")) return list_tiny_imagenet(root);
  if (fs::is_directory(fs::path(root) / "train")) return list_torchvision(root);
  fail(root, "neither wnids.txt nor train/",
       "Tiny ImageNet (wnids.txt, train/, val/) or torchvision's ImageFolder layout (train/<class>/, test/<class>/)");
}

Dataset read_image_folder(const std::string& root, ImageSplit split, const ImageShape& shape, std::size_t limit) {
  if (shape.height < 1 || shape.width < 1 || (shape.channels != 1 && shape.channels != 3))
    fail(root, "image shape " + std::to_string(shape.height) + "x" + std::to_string(shape.width) + "x" +
                   std::to_string(shape.channels),
         "height, width >= 1 and 1 or 3 channels");
  const ImageFolder folder = list_image_folder(root);
  const std::vector<ImageFile>& files = split == ImageSplit::train ? folder.train : folder.test;
  const std::string& dir = split == ImageSplit::train ? folder.train_dir : folder.test_dir;
  Dataset d;
  d.name = "image_folder";
  d.height = shape.height;
  d.width = shape.width;
  d.channels = shape.channels;
  d.classes = static_cast<std::uint32_t>(folder.classes.size());
  const std::size_t count = std::min(files.size(), limit);
  d.labels.resize(count);
  d.images.resize(count * d.image_size());
  std::vector<unsigned char> pixels(std::size_t{shape.height} * shape.width * 3);
  using Clock = std::chrono::steady_clock;
  Clock::time_point last = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    read_image(files[i].path, shape, pixels, d.images.data() + i * d.image_size());
    d.labels[i] = files[i].label;
    if (Clock::now() - last >= std::chrono::seconds(2)) {  // 100000 64x64 JPEGs: about 15 s
      last = Clock::now();
      std::fprintf(stderr, "image_folder: %zu of %zu images of %s decoded\n", i + 1, count, dir.c_str());
    }
  }
  return d;
}

}  // namespace cestvp
