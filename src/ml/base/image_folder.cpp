#include "ml/base/image_folder.hpp"

#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <map>

#include "ml/base/errors.hpp"

namespace idunno::ml {

namespace fs = std::filesystem;

bool is_image_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.ends_with(".png") || lower.ends_with(".jpg") || lower.ends_with(".jpeg");
}

Image decode_image(std::string_view bytes, std::string_view what) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DatasetError(std::string(what) + ": image file too large");
  }
  int width = 0;
  int height = 0;
  int channels = 0;
  unsigned char* data = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                              static_cast<int>(bytes.size()), &width, &height, &channels, 0);
  if (data == nullptr) {
    throw DatasetError(std::string(what) + ": cannot decode image (" + stbi_failure_reason() +
                       "); PNG and JPEG are supported");
  }
  const int out_channels = channels <= 2 ? 1 : 3;  // drop alpha
  Image image{{out_channels, height, width}, {}};
  const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  image.pixels.resize(pixels * static_cast<std::size_t>(out_channels));
  for (std::size_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < out_channels; ++c) {
      image.pixels[p * static_cast<std::size_t>(out_channels) + static_cast<std::size_t>(c)] =
          data[p * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)];
    }
  }
  stbi_image_free(data);
  return image;
}

std::shared_ptr<ImageFolderDataset> ImageFolderDataset::open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DatasetError(dir + ": not a folder of images");
  std::shared_ptr<ImageFolderDataset> dataset(new ImageFolderDataset());
  dataset->name_ = fs::path(dir).filename().string();
  dataset->root_ = dir;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || !is_image_name(it->path().filename().string())) continue;
    dataset->entries_.push_back({fs::relative(it->path(), dir).generic_string(), {}, -1});
  }
  if (ec) throw DatasetError(dir + ": cannot list the folder (" + ec.message() + ")");
  dataset->index_entries();
  return dataset;
}

std::shared_ptr<ImageFolderDataset> ImageFolderDataset::from_files(std::vector<ImageFile> files, std::string name) {
  std::shared_ptr<ImageFolderDataset> dataset(new ImageFolderDataset());
  dataset->name_ = std::move(name);
  for (auto& file : files) {
    if (!is_image_name(file.name)) continue;
    dataset->entries_.push_back({std::move(file.name), std::move(file.bytes), -1});
  }
  dataset->index_entries();
  return dataset;
}

// Orders the entries, assigns classes from sub-folder names, reads the shape
// of the first image.
void ImageFolderDataset::index_entries() {
  if (entries_.empty()) throw DatasetError(name_ + ": no PNG or JPEG images found");
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  std::size_t in_folders = 0;
  std::map<std::string, std::int64_t> classes;
  for (const auto& entry : entries_) {
    const auto slash = entry.name.find('/');
    if (slash == std::string::npos) continue;
    if (entry.name.find('/', slash + 1) != std::string::npos) {
      throw DatasetError(name_ + ": " + entry.name + " is nested too deep (use FOLDER/CLASS/IMAGE at most)");
    }
    ++in_folders;
    classes.emplace(entry.name.substr(0, slash), 0);
  }
  if (in_folders != 0 && in_folders != entries_.size()) {
    throw DatasetError(name_ + ": mixes images in class sub-folders with images at the top; use one layout");
  }
  std::int64_t next = 0;
  for (auto& [class_name, index] : classes) {
    index = next++;
    class_names_.push_back(class_name);
  }
  for (auto& entry : entries_) {
    const auto slash = entry.name.find('/');
    if (slash != std::string::npos) entry.label = classes.at(entry.name.substr(0, slash));
  }
  first_shape_ = image(0).shape;
}

Image ImageFolderDataset::image(std::size_t index) const {
  if (index >= entries_.size()) {
    throw DatasetError(name_ + ": sample " + std::to_string(index) + " is out of range (" +
                       std::to_string(entries_.size()) + " images)");
  }
  const Entry& entry = entries_[index];
  const std::string what = name_ + "/" + entry.name;
  if (root_.empty()) return decode_image(entry.bytes, what);
  return decode_image(read_file_bytes((fs::path(root_) / entry.name).string()), what);
}

std::optional<std::int64_t> ImageFolderDataset::label(std::size_t index) const {
  if (index >= entries_.size() || entries_[index].label < 0) return std::nullopt;
  return entries_[index].label;
}

}  // namespace idunno::ml
