#include "fs/sdfs_local.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace idunno::fs {

namespace asio = boost::asio;

namespace {

std::string errno_text(int error) { return std::strerror(error); }

SdfsError file_error(const std::string& what, const std::filesystem::path& path, int error) {
  return SdfsError(SdfsErrorKind::failed, "cannot " + what + " " + path.string() + ": " + errno_text(error));
}

}  // namespace

LocalFileSource::LocalFileSource(core::ThreadPool& pool, std::filesystem::path path, int fd, std::uint64_t size)
    : pool_(pool), path_(std::move(path)), fd_(fd), size_(size) {}

LocalFileSource::~LocalFileSource() { ::close(fd_); }

asio::awaitable<std::shared_ptr<LocalFileSource>> LocalFileSource::open(core::ThreadPool& pool,
                                                                        std::filesystem::path path) {
  return open_on(&pool, std::move(path));
}

asio::awaitable<std::shared_ptr<LocalFileSource>> LocalFileSource::open_on(core::ThreadPool* pool,
                                                                           std::filesystem::path path) {
  struct Opened {
    int fd = -1;
    int error = 0;
    std::uint64_t size = 0;
  };
  auto job = [path]() -> Opened {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {-1, errno, 0};
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      const int error = S_ISDIR(st.st_mode) ? EISDIR : errno;
      ::close(fd);
      return {-1, error == 0 ? EINVAL : error, 0};
    }
    return {fd, 0, static_cast<std::uint64_t>(st.st_size)};
  };
  auto work = pool->run(std::move(job));
  Opened opened = co_await std::move(work);
  if (opened.fd < 0) throw file_error("read", path, opened.error);
  co_return std::make_shared<LocalFileSource>(*pool, std::move(path), opened.fd, opened.size);
}

asio::awaitable<std::size_t> LocalFileSource::read_piece(std::shared_ptr<LocalFileSource> self,
                                                         std::span<std::uint8_t> buffer) {
  auto job = [fd = self->fd_, buffer]() -> long {
    for (;;) {
      const auto n = ::read(fd, buffer.data(), buffer.size());
      if (n >= 0 || errno != EINTR) return n < 0 ? -errno : static_cast<long>(n);
    }
  };
  auto work = self->pool_.run(std::move(job));
  const long n = co_await std::move(work);
  if (n < 0) throw file_error("read", self->path_, static_cast<int>(-n));
  co_return static_cast<std::size_t>(n);
}

ByteSource LocalFileSource::source() {
  return [self = shared_from_this()](std::span<std::uint8_t> buffer) { return read_piece(self, buffer); };
}

LocalFileSink::LocalFileSink(core::ThreadPool& pool, std::filesystem::path destination, std::filesystem::path temp,
                             int fd)
    : pool_(pool), destination_(std::move(destination)), temp_(std::move(temp)), fd_(fd) {}

LocalFileSink::~LocalFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) ::unlink(temp_.c_str());
}

asio::awaitable<std::shared_ptr<LocalFileSink>> LocalFileSink::create(core::ThreadPool& pool,
                                                                      std::filesystem::path destination) {
  return create_on(&pool, std::move(destination));
}

asio::awaitable<std::shared_ptr<LocalFileSink>> LocalFileSink::create_on(core::ThreadPool* pool,
                                                                         std::filesystem::path destination) {
  struct Created {
    int fd = -1;
    int error = 0;
    std::string temp;
  };
  auto job = [destination]() -> Created {
    std::string pattern = destination.string() + ".part-XXXXXX";
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) return {-1, errno, {}};
    return {fd, 0, pattern};
  };
  auto work = pool->run(std::move(job));
  Created created = co_await std::move(work);
  if (created.fd < 0) throw file_error("write", destination, created.error);
  co_return std::make_shared<LocalFileSink>(*pool, std::move(destination), created.temp, created.fd);
}

asio::awaitable<void> LocalFileSink::write_piece(std::shared_ptr<LocalFileSink> self,
                                                 std::span<const std::uint8_t> bytes) {
  auto job = [fd = self->fd_, bytes]() -> int {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      done += static_cast<std::size_t>(n);
    }
    return 0;
  };
  auto work = self->pool_.run(std::move(job));
  const int error = co_await std::move(work);
  if (error != 0) throw file_error("write", self->destination_, error);
  self->bytes_ += bytes.size();
}

ByteSink LocalFileSink::sink() {
  return [self = shared_from_this()](std::span<const std::uint8_t> bytes) { return write_piece(self, bytes); };
}

asio::awaitable<void> LocalFileSink::commit() {
  auto job = [fd = fd_, temp = temp_, destination = destination_]() -> int {
    if (::fsync(fd) != 0) return errno;
    if (::rename(temp.c_str(), destination.c_str()) != 0) return errno;
    return 0;
  };
  auto work = pool_.run(std::move(job));
  const int error = co_await std::move(work);
  if (error != 0) throw file_error("write", destination_, error);
  done_ = true;
}

asio::awaitable<void> LocalFileSink::discard() {
  if (done_) co_return;
  auto job = [temp = temp_]() { ::unlink(temp.c_str()); };
  auto work = pool_.run(std::move(job));
  co_await std::move(work);
  done_ = true;
}

}  // namespace idunno::fs
