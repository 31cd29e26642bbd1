#pragma once
// A dataset of PNG/JPEG images: a folder on disk or a set of in-memory files
// (as SDFS hands them over). Files are ordered by their relative name, so
// indices are stable; when files sit in sub-folders ("cat/1.png") the
// sub-folder is the class and the classes are numbered in name order.
// Images are decoded only when accessed, so a shard decodes only its own.
// Immutable; any thread.

#include <string>
#include <vector>

#include "ml/base/dataset.hpp"

namespace idunno::ml {

// One image file held in memory; `name` is its path relative to the folder.
struct ImageFile {
  std::string name;
  std::string bytes;
};

class ImageFolderDataset final : public Dataset {
 public:
  // Lists `dir` (PNG/JPEG only, one level of class sub-folders at most).
  // Files are read when accessed. Throws DatasetError.
  static std::shared_ptr<ImageFolderDataset> open(const std::string& dir);

  // In-memory files, with names as in a folder.
  static std::shared_ptr<ImageFolderDataset> from_files(std::vector<ImageFile> files, std::string name = "images");

  std::size_t size() const override { return entries_.size(); }
  Image image(std::size_t index) const override;
  std::optional<std::int64_t> label(std::size_t index) const override;
  bool has_labels() const override { return !class_names_.empty(); }
  std::int64_t classes() const override { return static_cast<std::int64_t>(class_names_.size()); }
  ImageShape sample_shape() const override { return first_shape_; }
  std::string describe() const override { return name_; }

  const std::vector<std::string>& class_names() const { return class_names_; }
  // The relative name of sample `index`.
  const std::string& file_name(std::size_t index) const { return entries_.at(index).name; }

 private:
  // One image: its relative name, its bytes (in memory) or nothing (read from
  // root_ / name on access), and its class (-1: unlabelled).
  struct Entry {
    std::string name;
    std::string bytes;
    std::int64_t label = -1;
  };

  ImageFolderDataset() = default;
  void index_entries();

  std::string name_;
  std::string root_;  // empty for in-memory files
  std::vector<Entry> entries_;
  std::vector<std::string> class_names_;
  ImageShape first_shape_;
};

// Decodes a PNG/JPEG (or any format stb reads) to 1 or 3 channels (alpha
// dropped). Throws DatasetError naming `what`.
Image decode_image(std::string_view bytes, std::string_view what);

// True for names ending in .png, .jpg or .jpeg (any case).
bool is_image_name(std::string_view name);

}  // namespace idunno::ml
