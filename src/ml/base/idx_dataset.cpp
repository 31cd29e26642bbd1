#include "ml/base/idx_dataset.hpp"

#include <algorithm>
#include <filesystem>

#include "ml/base/errors.hpp"
#include "ml/base/gzip.hpp"

namespace idunno::ml {

namespace {
std::string maybe_gunzip(std::string bytes, std::string_view what) {
  return is_gzip(bytes) ? gunzip(bytes, what) : bytes;
}

std::string basename(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Replaces the last `from` in `text` by `to`; false when absent.
bool replace_last(std::string& text, std::string_view from, std::string_view to) {
  const auto at = text.rfind(from);
  if (at == std::string::npos) return false;
  text.replace(at, from.size(), to);
  return true;
}
}  // namespace

ImageShape idx_image_shape(const IdxHeader& header, std::string_view what) {
  if (header.dims.size() == 3) return {1, header.dims[1], header.dims[2]};
  if (header.dims.size() == 4 && (header.dims[3] == 1 || header.dims[3] == 3)) {
    return {header.dims[3], header.dims[1], header.dims[2]};
  }
  throw DatasetError(std::string(what) + ": an IDX images file has 3 dimensions (count, rows, columns), this one has " +
                     std::to_string(header.dims.size()) + " (is it a labels file?)");
}

std::optional<std::string> labels_name_for(std::string name) {
  if (!replace_last(name, "images", "labels")) return std::nullopt;
  replace_last(name, "idx3", "idx1");
  return name;
}

std::optional<std::string> labels_path_for(const std::string& images_path) {
  const std::filesystem::path path(images_path);
  const auto labels = labels_name_for(path.filename().string());
  if (!labels) return std::nullopt;
  const std::string& name = *labels;
  std::vector<std::string> candidates{name};
  if (name.ends_with(".gz")) {
    candidates.push_back(name.substr(0, name.size() - 3));
  } else {
    candidates.push_back(name + ".gz");
  }
  for (const auto& candidate : candidates) {
    const auto full = path.parent_path() / candidate;
    std::error_code ec;
    if (std::filesystem::is_regular_file(full, ec)) return full.string();
  }
  return std::nullopt;
}

std::shared_ptr<IdxDataset> IdxDataset::open(const std::string& images_path) {
  std::optional<std::string> labels;
  std::string labels_name;
  if (auto path = labels_path_for(images_path)) {
    labels = read_file_bytes(*path);
    labels_name = basename(*path);
  }
  auto images = read_file_bytes(images_path);
  auto dataset = from_bytes(std::move(images), std::nullopt, basename(images_path));
  if (labels) dataset->set_labels(maybe_gunzip(std::move(*labels), labels_name), labels_name);
  return dataset;
}

std::shared_ptr<IdxDataset> IdxDataset::from_bytes(std::string images, std::optional<std::string> labels,
                                                   std::string name) {
  std::shared_ptr<IdxDataset> dataset(new IdxDataset());
  dataset->name_ = std::move(name);
  images = maybe_gunzip(std::move(images), dataset->name_);
  const IdxHeader header = parse_idx_header(images, dataset->name_);
  dataset->shape_ = idx_image_shape(header, dataset->name_);
  check_idx_complete(header, images, dataset->name_);
  dataset->count_ = header.count();
  images.erase(0, header.header_bytes);
  dataset->images_ = std::move(images);
  if (labels) dataset->set_labels(maybe_gunzip(std::move(*labels), dataset->name_ + " labels"), dataset->name_ + " labels");
  return dataset;
}

std::shared_ptr<IdxDataset> IdxDataset::from_range(std::string_view images_header, std::size_t first,
                                                   std::string image_items, std::optional<std::string> label_items,
                                                   std::string name) {
  std::shared_ptr<IdxDataset> dataset(new IdxDataset());
  dataset->name_ = std::move(name);
  const IdxHeader header = parse_idx_header(images_header, dataset->name_);
  dataset->shape_ = idx_image_shape(header, dataset->name_);
  const std::size_t item = header.item_bytes();
  if (image_items.size() % item != 0) {
    throw DatasetError(dataset->name_ + ": shard of " + std::to_string(image_items.size()) +
                       " bytes is not a whole number of " + std::to_string(item) + "-byte images (truncated?)");
  }
  dataset->count_ = image_items.size() / item;
  if (first + dataset->count_ > header.count()) {
    throw DatasetError(dataset->name_ + ": shard [" + std::to_string(first) + ", " +
                       std::to_string(first + dataset->count_) + ") passes the " + std::to_string(header.count()) +
                       " images of the file");
  }
  dataset->first_ = first;
  dataset->images_ = std::move(image_items);
  if (label_items) {
    if (label_items->size() != dataset->count_) {
      throw DatasetError(dataset->name_ + ": " + std::to_string(label_items->size()) + " labels for " +
                         std::to_string(dataset->count_) + " images in the shard");
    }
    dataset->labels_ = std::move(*label_items);
    dataset->classes_ = 0;
    for (const char c : dataset->labels_) {
      dataset->classes_ = std::max<std::int64_t>(dataset->classes_, static_cast<unsigned char>(c) + 1);
    }
  }
  return dataset;
}

void IdxDataset::set_labels(std::string labels, std::string_view what) {
  const IdxHeader header = parse_idx_header(labels, what);
  if (header.dims.size() != 1) {
    throw DatasetError(std::string(what) + ": a labels file has 1 dimension, this one has " +
                       std::to_string(header.dims.size()) + " (is it an images file?)");
  }
  check_idx_complete(header, labels, what);
  if (header.count() != count_) {
    throw DatasetError(std::string(what) + ": label count mismatch: " + std::to_string(header.count()) +
                       " labels for " + std::to_string(count_) + " images in " + name_);
  }
  labels.erase(0, header.header_bytes);
  labels_ = std::move(labels);
  classes_ = 0;
  for (const char c : labels_) classes_ = std::max<std::int64_t>(classes_, static_cast<unsigned char>(c) + 1);
}

const std::uint8_t* IdxDataset::pixels(std::size_t index) const {
  if (index >= count_) {
    throw DatasetError(name_ + ": sample " + std::to_string(index) + " is out of range (" + std::to_string(count_) +
                       " samples)");
  }
  const auto item = static_cast<std::size_t>(shape_.elements());
  return reinterpret_cast<const std::uint8_t*>(images_.data()) + index * item;
}

Image IdxDataset::image(std::size_t index) const {
  const std::uint8_t* start = pixels(index);
  return Image{shape_, std::vector<std::uint8_t>(start, start + shape_.elements())};
}

std::optional<std::int64_t> IdxDataset::label(std::size_t index) const {
  if (labels_.empty() || index >= count_) return std::nullopt;
  return static_cast<unsigned char>(labels_[index]);
}

}  // namespace idunno::ml
