#pragma once
// Helpers shared by the ML tests: temporary folders, synthetic IDX data and
// the location of Debian's Fashion-MNIST.

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace idunno::ml::test {

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("idunno_ml_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// An IDX images file of `count` rows x cols images; pixel = (i * 7 + p) % 256.
inline std::string idx_images(std::uint32_t count, std::uint32_t rows = 28, std::uint32_t cols = 28) {
  std::string out{0, 0, 8, 3};
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  for (std::uint32_t i = 0; i < count; ++i) {
    for (std::uint32_t p = 0; p < rows * cols; ++p) out.push_back(static_cast<char>((i * 7 + p) % 256));
  }
  return out;
}

// An IDX labels file; label i = i % classes.
inline std::string idx_labels(std::uint32_t count, std::uint32_t classes = 10) {
  std::string out{0, 0, 8, 1};
  put_be32(out, count);
  for (std::uint32_t i = 0; i < count; ++i) out.push_back(static_cast<char>(i % classes));
  return out;
}

// Debian's dataset-fashion-mnist location (IDUNNO_FASHION_MNIST overrides).
inline std::string fashion_mnist_dir() {
  if (const char* dir = std::getenv("IDUNNO_FASHION_MNIST")) return dir;
  return "/usr/share/datasets/fashion-mnist";
}

inline bool have_fashion_mnist() {
  return std::filesystem::exists(fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
}

// What a test that needs Fashion-MNIST fails with when it is missing: the
// data is a declared dependency, not an optional extra.
inline std::string fashion_mnist_missing() {
  return "Fashion-MNIST not found at " + fashion_mnist_dir() +
         ": install the Debian package dataset-fashion-mnist (scripts/deps.sh does) or point IDUNNO_FASHION_MNIST at "
         "a folder holding it";
}

}  // namespace idunno::ml::test
