#include "ml/dataset.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ml/errors.hpp"
#include "ml/idx_dataset.hpp"
#include "ml/image_folder.hpp"

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

DatasetPtr open_dataset(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return ImageFolderDataset::open(path);
  if (!std::filesystem::exists(path, ec)) {
    throw DatasetError(path + ": no such file or folder (give an IDX images file or a folder of images)");
  }
  return IdxDataset::open(path);
}

}  // namespace idunno::ml
