// Image-folder datasets: Tiny ImageNet as distributed and torchvision's ImageFolder layout,
// JPEG files through libjpeg and PNG files through libpng. SystemC-free. Read into the same
// cestvp::Dataset as the other readers (dataset.h); errors are UserErrors of the form
//   FILE: what is wrong; expected <what>
// See docs/datasets.md.
//
//   const ImageFolder folder = list_image_folder("/data/tiny-imagenet-200");  // no decoding
//   Dataset train = read_image_folder("/data/tiny-imagenet-200", ImageSplit::train, {64, 64, 3});
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cestvp {

struct ImageFile {
  std::string path;
  std::uint16_t label = 0;
};

// What a dataset directory holds, found from directory listings (and Tiny ImageNet's two text
// files) alone. The layout is told by the files: with wnids.txt it is Tiny ImageNet
//   wnids.txt (a class id a line, the label is the line's index), train/<wnid>/images/*,
//   val/images/* with val/val_annotations.txt (file name TAB wnid TAB box); val is the test split;
// without it, torchvision's ImageFolder
//   train/<class>/*, test/<class>/* (or val/<class>/* if there is no test/); the classes are
//   train/'s directories sorted by name, and test/ may only have directories of those.
// Images are the .jpg, .jpeg and .png files (any case); other files are ignored, and a class
// directory without images is an error.
struct ImageFolder {
  std::vector<std::string> classes;    // label -> wnid or directory name
  std::string train_dir, test_dir;     // <root>/train and <root>/val or <root>/test
  // In reading order: round-robin over the classes (the first image of every class by label,
  // then the second, ...; a class that has run out is skipped), each class's images by file
  // name. The first n samples then cover as many classes as n can, the same on every machine.
  std::vector<ImageFile> train, test;
};

ImageFolder list_image_folder(const std::string& root);

struct ImageShape {
  std::uint32_t height = 0, width = 0, channels = 0;  // channels: 1 (grayscale) or 3 (RGB)
};

enum class ImageSplit { train, test };

// Decodes the first `limit` images of the split in list_image_folder's order. Every image
// must be shape.height x shape.width: nothing is resized. Grayscale images are repeated into
// RGB, RGB is reduced to BT.601 luma (round((299 R + 587 G + 114 B) / 1000)) for 1 channel,
// PNG alpha is dropped and 16-bit PNG samples keep their high byte. A corrupt or truncated
// file is an error with what libjpeg or libpng said; so is a libjpeg warning, since libjpeg
// would fill what it could not decode with grey. Prints a progress line to stderr every 2 s.
Dataset read_image_folder(const std::string& root, ImageSplit split, const ImageShape& shape,
                          std::size_t limit = SIZE_MAX);

}  // namespace cestvp
