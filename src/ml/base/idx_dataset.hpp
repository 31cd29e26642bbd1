#pragma once
// An IDX images file with its optional labels file, held in memory
// (Fashion-MNIST's 60k images are 47 MB). Built from a path, from the bytes
// of whole files (SDFS), or from the byte range of one shard of a plain IDX
// file, so a worker fetches and holds only its shard. Immutable; any thread.

#include <optional>
#include <string>
#include <string_view>

#include "ml/base/dataset.hpp"
#include "ml/base/idx.hpp"

namespace idunno::ml {

class IdxDataset final : public Dataset {
 public:
  // Reads `images_path` (gzip or plain) and the labels file beside it when
  // one exists (see labels_path_for). Throws DatasetError.
  static std::shared_ptr<IdxDataset> open(const std::string& images_path);

  // Whole files as bytes (gzip or plain). `labels` may be absent.
  static std::shared_ptr<IdxDataset> from_bytes(std::string images, std::optional<std::string> labels,
                                                std::string name = "idx images");

  // One shard of a plain (not gzip) IDX file: `images_header` is at least
  // the header bytes of the images file, `image_items` the bytes of items
  // [first, first + n) as given by idx_item_range(); `label_items` likewise
  // for the labels file (one byte per item) when there are labels.
  static std::shared_ptr<IdxDataset> from_range(std::string_view images_header, std::size_t first,
                                                std::string image_items, std::optional<std::string> label_items,
                                                std::string name = "idx shard");

  std::size_t size() const override { return count_; }
  std::size_t first_index() const override { return first_; }
  Image image(std::size_t index) const override;
  std::optional<std::int64_t> label(std::size_t index) const override;
  bool has_labels() const override { return !labels_.empty(); }
  std::int64_t classes() const override { return classes_; }
  ImageShape sample_shape() const override { return shape_; }
  std::string describe() const override { return name_; }

  // The raw pixels of sample `index` (row-major, shape_.elements() bytes).
  const std::uint8_t* pixels(std::size_t index) const;

 private:
  IdxDataset() = default;
  void set_labels(std::string labels_items, std::string_view what);

  std::string name_;
  std::string images_;  // the item bytes only
  std::string labels_;  // one byte per item, or empty
  std::size_t first_ = 0;
  std::size_t count_ = 0;
  ImageShape shape_;
  std::int64_t classes_ = 0;
};

// The sample shape of an IDX images file: [N, rows, cols] is grayscale,
// [N, rows, cols, channels] has 1 or 3 channels. Throws DatasetError naming
// `what` for any other layout (a labels file, say).
ImageShape idx_image_shape(const IdxHeader& header, std::string_view what);

// The labels file that goes with an IDX images file by the usual naming
// ("train-images-idx3-ubyte.gz" -> "train-labels-idx1-ubyte.gz"), when such
// a file exists (with or without ".gz").
std::optional<std::string> labels_path_for(const std::string& images_path);
// The same naming rule on a name alone (an SDFS name, a file name):
// "t10k-images-idx3-ubyte.gz" -> "t10k-labels-idx1-ubyte.gz"; nullopt when
// the name does not say "images".
std::optional<std::string> labels_name_for(std::string name);

}  // namespace idunno::ml
