// Image classification folders laid out as torchvision's ImageFolder: one subfolder per class
// (its name the class name), images inside at any depth (PNG, JPEG, BMP, GIF). Held out: either
// train/ and val/ folders, each laid out so, or a fraction of each class. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fmalens {

struct ImageFolderItem {
  std::string path;
  int64_t label = 0;  // index into ImageFolder::classes
};

struct ImageFolder {
  std::string root;
  std::vector<std::string> classes;  // sorted, as ImageFolder sorts them
  std::vector<ImageFolderItem> train, val;
  bool split_by_folders = false;  // train/ and val/ (else every k-th image of each class is held out)
};

// Whether `path` is a folder of class folders (or of train/ and val/), not Fashion-MNIST's IDX files.
bool is_image_folder(const std::string& path);

// Lists the images of `dir`. Without train/ and val/ folders, `val_fraction` of each class's
// images (in sorted order, spread evenly) are held out. Throws Error with one line naming the
// folder and the rule: no class folders, one class, a class with no images, a val/ class that
// train/ lacks, a fraction outside [0, 1).
ImageFolder scan_image_folder(const std::string& dir, double val_fraction = 0.1);

// Whether a file name has an image extension this reader decodes (.png .jpg .jpeg .bmp .gif).
bool has_image_extension(const std::string& name);

}  // namespace fmalens
