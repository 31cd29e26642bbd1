#pragma once
// Local files as SDFS sources and sinks, their disk work on the I/O pool.
//
// Why: `put LOCAL` and `get ... LOCAL` in the terminal mode read and write
// files of any size on the node's own disk, which must neither block the
// event loop nor hold the file in memory. A download is atomic: bytes go to
// a temporary file beside the destination ("NAME.part-XXXXXX"), which is
// fsynced and renamed over it only by commit(); discard() (or destroying an
// uncommitted sink) removes it, so a failed get leaves no file behind.
//
// Event loop only; hold them by shared_ptr (the pool jobs keep them alive).

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/thread_pool.hpp"
#include "fs/sdfs.hpp"

namespace idunno::fs {

class LocalFileSource : public std::enable_shared_from_this<LocalFileSource> {
 public:
  // Throws SdfsError(failed) naming the file when it cannot be read.
  static boost::asio::awaitable<std::shared_ptr<LocalFileSource>> open(core::ThreadPool& pool,
                                                                       std::filesystem::path path);
  ~LocalFileSource();
  LocalFileSource(const LocalFileSource&) = delete;
  LocalFileSource& operator=(const LocalFileSource&) = delete;

  std::uint64_t size() const { return size_; }
  ByteSource source();

  LocalFileSource(core::ThreadPool& pool, std::filesystem::path path, int fd, std::uint64_t size);

 private:
  static boost::asio::awaitable<std::shared_ptr<LocalFileSource>> open_on(core::ThreadPool* pool,
                                                                          std::filesystem::path path);
  static boost::asio::awaitable<std::size_t> read_piece(std::shared_ptr<LocalFileSource> self,
                                                        std::span<std::uint8_t> buffer);
  core::ThreadPool& pool_;
  std::filesystem::path path_;
  int fd_;
  std::uint64_t size_;
};

class LocalFileSink : public std::enable_shared_from_this<LocalFileSink> {
 public:
  // Creates the temporary file beside `destination`; throws SdfsError(failed).
  static boost::asio::awaitable<std::shared_ptr<LocalFileSink>> create(core::ThreadPool& pool,
                                                                       std::filesystem::path destination);
  ~LocalFileSink();
  LocalFileSink(const LocalFileSink&) = delete;
  LocalFileSink& operator=(const LocalFileSink&) = delete;

  ByteSink sink();
  std::uint64_t bytes() const { return bytes_; }
  // fsync, rename over the destination. Throws SdfsError(failed).
  boost::asio::awaitable<void> commit();
  boost::asio::awaitable<void> discard();

  LocalFileSink(core::ThreadPool& pool, std::filesystem::path destination, std::filesystem::path temp, int fd);

 private:
  static boost::asio::awaitable<std::shared_ptr<LocalFileSink>> create_on(core::ThreadPool* pool,
                                                                          std::filesystem::path destination);
  static boost::asio::awaitable<void> write_piece(std::shared_ptr<LocalFileSink> self,
                                                  std::span<const std::uint8_t> bytes);
  core::ThreadPool& pool_;
  std::filesystem::path destination_;
  std::filesystem::path temp_;
  int fd_;
  std::uint64_t bytes_ = 0;
  bool done_ = false;
};

}  // namespace idunno::fs
