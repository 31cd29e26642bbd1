#include "ml/base/dataset.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ml/base/errors.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/base/image_folder.hpp"

namespace idunno::ml {

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DatasetError(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string bytes;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) throw DatasetError(path + ": cannot read");
  bytes.resize(static_cast<std::size_t>(size));
  in.seekg(0, std::ios::beg);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw DatasetError(path + ": read failed");
  return bytes;
}

namespace {
// A contiguous range of another dataset (which it keeps alive).
class DatasetSlice final : public Dataset {
 public:
  DatasetSlice(DatasetPtr base, std::size_t begin, std::size_t end) : base_(std::move(base)), begin_(begin), end_(end) {}
  std::size_t size() const override { return end_ - begin_; }
  std::size_t first_index() const override { return base_->first_index() + begin_; }
  Image image(std::size_t index) const override { return base_->image(checked(index)); }
  std::optional<std::int64_t> label(std::size_t index) const override {
    return index < size() ? base_->label(begin_ + index) : std::nullopt;
  }
  bool has_labels() const override { return base_->has_labels(); }
  std::int64_t classes() const override { return base_->classes(); }
  ImageShape sample_shape() const override { return base_->sample_shape(); }
  std::string describe() const override {
    return base_->describe() + "[" + std::to_string(begin_) + ":" + std::to_string(end_) + "]";
  }

 private:
  std::size_t checked(std::size_t index) const {
    if (index >= size()) {
      throw DatasetError(describe() + ": sample " + std::to_string(index) + " is out of range (" +
                         std::to_string(size()) + " samples)");
    }
    return begin_ + index;
  }

  DatasetPtr base_;
  std::size_t begin_;
  std::size_t end_;
};
}  // namespace

DatasetPtr slice_dataset(DatasetPtr dataset, std::size_t begin, std::size_t end) {
  if (begin > end || end > dataset->size()) {
    throw DatasetError(dataset->describe() + ": slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") is outside its " + std::to_string(dataset->size()) + " samples");
  }
  return std::make_shared<DatasetSlice>(std::move(dataset), begin, end);
}

DatasetPtr open_dataset(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return ImageFolderDataset::open(path);
  if (!std::filesystem::exists(path, ec)) {
    throw DatasetError(path + ": no such file or folder (give an IDX images file or a folder of images)");
  }
  return IdxDataset::open(path);
}

}  // namespace idunno::ml
