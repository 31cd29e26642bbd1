#include "cli/sdfs_service.hpp"

#include <boost/json.hpp>
#include "cli/commands/command_table.hpp"
#include <optional>

#include "fs/sdfs_local.hpp"
#include "net/swim/swim_driver.hpp"

namespace idunno::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

fs::SdfsCluster cluster_of(CoordinatorService& coordinator, MembershipService& membership, const fs::Namespace& ns) {
  fs::SdfsCluster cluster;
  net::RaftDriver& raft = coordinator.raft();
  cluster.submit = [&raft](std::string command, std::chrono::milliseconds timeout) {
    return raft.submit("sdfs", std::move(command), timeout);
  };
  cluster.read = [&raft](std::string query, std::chrono::milliseconds timeout) {
    return raft.read("sdfs", std::move(query), timeout);
  };
  cluster.local = &ns;
  cluster.members = [&membership] {
    std::vector<fs::SdfsMember> out;
    for (const auto& m : membership.active_members()) out.push_back({m.id.name, m.id.addr});
    return out;
  };
  return cluster;
}

// `get SDFSNAME LOCAL [--version V]`.
struct GetArgs {
  std::string name;
  std::string local;
  std::optional<std::uint64_t> version;
};

GetArgs parse_get(const std::vector<std::string>& args) {
  GetArgs out{args.at(0), args.at(1), std::nullopt};
  if (args.size() == 2) return out;
  if (args.size() != 4 || args[2] != "--version") throw CommandError("usage: get SDFSNAME LOCAL [--version V]");
  out.version = parse_unsigned(args[3]);
  if (!out.version || *out.version == 0) throw CommandError("--version takes a version number (1, 2, ...)");
  return out;
}

// Sources and sinks that count the bytes they pass for a progress bar.
asio::awaitable<std::size_t> counted_read(fs::ByteSource inner, std::shared_ptr<CommandProgress> progress,
                                          std::span<std::uint8_t> buffer) {
  const std::size_t n = co_await inner(buffer);
  progress->done.fetch_add(n, std::memory_order_relaxed);
  co_return n;
}

asio::awaitable<void> counted_write(fs::ByteSink inner, std::shared_ptr<CommandProgress> progress,
                                    std::span<const std::uint8_t> bytes) {
  co_await inner(bytes);
  progress->done.fetch_add(bytes.size(), std::memory_order_relaxed);
}

fs::ByteSource counted(fs::ByteSource inner, std::shared_ptr<CommandProgress> progress) {
  if (!progress) return inner;
  return [inner = std::move(inner), progress = std::move(progress)](std::span<std::uint8_t> buffer) {
    return counted_read(inner, progress, buffer);
  };
}

fs::ByteSink counted(fs::ByteSink inner, std::shared_ptr<CommandProgress> progress) {
  if (!progress) return inner;
  return [inner = std::move(inner), progress = std::move(progress)](std::span<const std::uint8_t> bytes) {
    return counted_write(inner, progress, bytes);
  };
}

}  // namespace

json::object version_json(const fs::NamedVersion& version) {
  json::array replicas;
  for (const auto& r : version.entry.replicas) replicas.emplace_back(r);
  return json::object{{"name", version.name},
                      {"version", version.entry.version},
                      {"size", version.entry.size},
                      {"replicas", std::move(replicas)}};
}

std::string version_delimiter(const fs::NamedVersion& version) {
  return "==> " + version.name + " version " + std::to_string(version.entry.version) + " (" +
         std::to_string(version.entry.size) + " bytes) <==\n";
}

SdfsService::SdfsService(asio::any_io_executor executor, const core::Config& config, TransportService& transport,
                         MembershipService& membership, CoordinatorService& coordinator, const fs::Namespace& ns,
                         core::ThreadPool& io_pool, CommandDispatcher& dispatcher, core::MetricsRegistry& metrics,
                         net::console::StreamRoutes& routes)
    : membership_(membership),
      coordinator_(coordinator),
      ns_(ns),
      sweep_interval_(config.sdfs.sweep_interval_ms),
      self_(config.node_name()),
      io_pool_(io_pool) {
  store_ = std::make_unique<fs::BlockStore>(core::posix_disk(), config.node.data_dir / "sdfs", config.sdfs.chunk_size);
  fs::DataNodeOptions node_options;
  node_options.self_name = config.node_name();
  data_node_ = std::make_unique<fs::DataNode>(executor, *store_, io_pool_, transport.stream_server(),
                                              transport.stream_client(), transport.rpc_server(), stats_, node_options);
  fs::SdfsOptions options;
  options.self_name = config.node_name();
  options.config = config.sdfs;
  sdfs_ = std::make_unique<fs::Sdfs>(executor, cluster_of(coordinator, membership, ns), transport.stream_client(),
                                     *store_, io_pool_, stats_, options);
  dispatcher.bind_with_progress("put",
                                [this](std::vector<std::string> args, std::shared_ptr<CommandProgress> progress) {
                                  return put(std::move(args), std::move(progress));
                                });
  dispatcher.bind_with_progress("get",
                                [this](std::vector<std::string> args, std::shared_ptr<CommandProgress> progress) {
                                  return get(std::move(args), std::move(progress));
                                });
  dispatcher.bind("delete", [this](std::vector<std::string> args) { return remove(std::move(args)); });
  dispatcher.bind("ls", [this](std::vector<std::string> args) { return ls(std::move(args)); });
  dispatcher.bind("store", [this](std::vector<std::string> args) { return store(std::move(args)); });
  dispatcher.bind_with_progress("get-versions",
                                [this](std::vector<std::string> args, std::shared_ptr<CommandProgress> progress) {
                                  return get_versions(std::move(args), std::move(progress));
                                });
  // Spooled uploads left by a crash are of no use: start with none.
  const auto spool = config.node.data_dir / "spool";
  std::filesystem::remove_all(spool);
  std::filesystem::create_directories(spool);
  add_sdfs_routes(routes, *sdfs_, UploadSpool{&io_pool_, spool},
                  [this](const std::string& node) { return console_lookup_ ? console_lookup_(node) : std::nullopt; });
  metrics.add([this](core::MetricsWriter& w) { stats_.write(w); });
  wire_replicas(executor, config, transport, coordinator, ns, metrics);
}

SdfsService::~SdfsService() = default;

void SdfsService::start() {
  replicas_->set_live(live_names());
  replicas_->start();
  background_->spawn(reconcile(), "sdfs reconcile");
}

asio::awaitable<void> SdfsService::stop(StopDeadline /*deadline*/) {
  background_->close();
  co_await background_->shutdown(std::chrono::milliseconds(200));
  co_await replicas_->stop();
}

asio::awaitable<fs::PutResult> SdfsService::put_local(std::string local, std::string name,
                                                      std::shared_ptr<CommandProgress> progress) {
  auto source = co_await fs::LocalFileSource::open(io_pool_, local);
  if (progress) progress->total = source->size();
  auto putting = sdfs_->put(counted(source->source(), progress), source->size(), std::move(name));
  co_return co_await std::move(putting);
}

asio::awaitable<std::uint64_t> SdfsService::get_local(fs::NamedVersion found, std::string local,
                                                      std::shared_ptr<CommandProgress> progress) {
  auto sink = co_await fs::LocalFileSink::create(io_pool_, local);
  if (progress) progress->total = found.entry.size;
  std::uint64_t bytes = 0;
  std::optional<fs::SdfsError> read_failure;
  try {
    auto reading = sdfs_->read(found, fs::ReadRange{}, counted(sink->sink(), progress));
    bytes = co_await std::move(reading);
  } catch (const fs::SdfsError& e) {
    read_failure = e;
  }
  if (read_failure) {
    co_await sink->discard();
    throw fs::SdfsError(*read_failure);
  }
  co_await sink->commit();
  co_return bytes;
}

asio::awaitable<json::value> SdfsService::put(std::vector<std::string> args,
                                              std::shared_ptr<CommandProgress> progress) {
  fs::PutResult result;
  try {
    result = co_await put_local(args.at(0), args.at(1), std::move(progress));
  } catch (const fs::SdfsError& e) {
    throw CommandError(e.what());
  }
  co_return json::object{{"name", result.name}, {"version", result.version}, {"size", result.size}};
}

asio::awaitable<json::value> SdfsService::get(std::vector<std::string> args,
                                              std::shared_ptr<CommandProgress> progress) {
  const GetArgs request = parse_get(args);
  fs::NamedVersion found;
  std::uint64_t bytes = 0;
  std::string failure;
  try {
    // Looked up first: a missing file writes no local file at all.
    found = co_await sdfs_->stat(request.name, request.version);
    bytes = co_await get_local(found, request.local, std::move(progress));
  } catch (const fs::SdfsError& e) {
    failure = e.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  co_return json::object{
      {"name", found.name}, {"version", found.entry.version}, {"bytes", bytes}, {"path", request.local}};
}

asio::awaitable<json::value> SdfsService::remove(std::vector<std::string> args) {
  std::string failure;
  try {
    co_await sdfs_->remove(args.at(0));
  } catch (const fs::SdfsError& e) {
    failure = e.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  co_return json::object{{"name", args[0]}, {"deleted", true}};
}

asio::awaitable<json::value> SdfsService::ls(std::vector<std::string> args) {
  fs::NamedVersion found;
  std::string failure;
  try {
    found = co_await sdfs_->stat(args.at(0));
  } catch (const fs::SdfsError& e) {
    failure = e.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  co_return version_json(found);
}

asio::awaitable<json::value> SdfsService::store(std::vector<std::string> /*args*/) {
  std::vector<fs::BlockInfo> blocks = co_await sdfs_->stored();
  json::array files;
  for (const auto& b : blocks) {
    files.push_back(json::object{{"name", b.name}, {"version", b.version}, {"size", b.size}});
  }
  co_return json::object{{"files", std::move(files)}};
}

asio::awaitable<json::value> SdfsService::get_versions(std::vector<std::string> args,
                                                       std::shared_ptr<CommandProgress> progress) {
  const auto count = parse_unsigned(args.at(1));
  if (!count || *count == 0 || *count > 1'000'000) throw CommandError("N must be a number of versions (1, 2, ...)");
  std::vector<fs::NamedVersion> found;
  std::uint64_t bytes = 0;
  std::string failure;
  try {
    found = co_await sdfs_->versions(args.at(0), static_cast<std::uint32_t>(*count));
    auto sink = co_await fs::LocalFileSink::create(io_pool_, args.at(2));
    std::uint64_t total = 0;
    for (const auto& version : found) total += version.entry.size;
    progress->total = total;
    fs::ByteSink write = counted(sink->sink(), progress);
    std::string read_failure;
    try {
      for (const auto& version : found) {
        const std::string head = version_delimiter(version);
        auto head_written = write(std::span(reinterpret_cast<const std::uint8_t*>(head.data()), head.size()));
        co_await std::move(head_written);
        auto body = sdfs_->read(version, fs::ReadRange{}, write);
        co_await std::move(body);
        const std::uint8_t newline = '\n';
        auto newline_written = write(std::span(&newline, 1));
        co_await std::move(newline_written);
      }
    } catch (const fs::SdfsError& e) {
      read_failure = e.what();
    }
    if (!read_failure.empty()) {
      co_await sink->discard();
      throw CommandError(read_failure);
    }
    co_await sink->commit();
    bytes = sink->bytes();
  } catch (const fs::SdfsError& e) {
    failure = e.what();
  }
  if (!failure.empty()) throw CommandError(failure);
  json::array versions;
  for (const auto& v : found) versions.emplace_back(v.entry.version);
  co_return json::object{{"name", args[0]}, {"versions", std::move(versions)}, {"bytes", bytes}, {"path", args[2]}};
}

}  // namespace idunno::cli
