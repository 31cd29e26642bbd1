#pragma once
// A dataset of images with optional labels, with random access by index so
// that a worker touches only the queries of its shard. Implementations (IDX
// files, image folders) are immutable after construction and may be read
// from any thread, which is how the executor's pool threads use them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ml/base/model_info.hpp"

namespace idunno::ml {

// One decoded image: 8-bit pixels, interleaved channels (row-major HWC).
struct Image {
  ImageShape shape;
  std::vector<std::uint8_t> pixels;
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  // Number of samples held; local indices run over [0, size()).
  virtual std::size_t size() const = 0;
  // The query index of local sample 0: a shard of a bigger dataset starts at
  // its first query, so results keep the whole dataset's numbering.
  virtual std::size_t first_index() const { return 0; }
  // Decodes sample `index` (local). Throws DatasetError when out of range or
  // undecodable.
  virtual Image image(std::size_t index) const = 0;
  // The label of sample `index` (local), when the dataset has labels.
  virtual std::optional<std::int64_t> label(std::size_t index) const = 0;
  virtual bool has_labels() const = 0;
  // Number of classes the labels use (0 when unlabelled).
  virtual std::int64_t classes() const = 0;
  // The shape shared by every sample, when there is one (IDX always; image
  // folders only report the first image's shape).
  virtual ImageShape sample_shape() const = 0;
  // Human-readable origin for messages ("t10k-images-idx3-ubyte.gz").
  virtual std::string describe() const = 0;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// Opens a dataset from a local path: an IDX images file (gzip or plain; its
// labels file is found beside it) or a folder of PNG/JPEG images.
DatasetPtr open_dataset(const std::string& path);

// A view of samples [begin, end) of `dataset` (local indices), keeping the
// query numbering: e.g. one rank's part of a training set. Throws
// DatasetError when the range does not fit.
DatasetPtr slice_dataset(DatasetPtr dataset, std::size_t begin, std::size_t end);

// Reads a whole file; throws DatasetError naming the path.
std::string read_file_bytes(const std::string& path);

}  // namespace idunno::ml
