#pragma once
// Node configuration: every key of config.toml with its default.
//
// Why: one typed place for settings, so that a typo or a bad value is refused
// before anything starts (exit 2, the key named) instead of silently falling
// back to a default. Owned by the Node; read-only after start, from any
// thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace idunno::core {

// A host and port, as written in config and options ("127.0.0.1:7001").
struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const HostPort&) const = default;
  auto operator<=>(const HostPort&) const = default;
};

// Parses "HOST:PORT"; nullopt when malformed or the port is not 1..65535.
std::optional<HostPort> parse_host_port(const std::string& text);

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

struct NodeSection {
  std::string name;              // empty: "node-<port>"
  HostPort bind{"127.0.0.1", 7001};
  std::optional<HostPort> advertise;  // empty: bind
  std::filesystem::path data_dir = "data";
  std::string log_level = "info";
  // Threads of the I/O pool (checksums, block writes, fsync-heavy work),
  // separate from the ML pool (ml.threads); 0: one per core.
  int io_threads = 0;
};

struct ClusterSection {
  std::vector<HostPort> seeds;
  int voters = 7;
  std::string secret;  // empty: packets are not authenticated
};

struct MembershipSection {
  int probe_interval_ms = 250;
  int probe_timeout_ms = 100;
  int indirect_checks = 3;
  int suspicion_mult = 2;
  int suspicion_max_mult = 4;
  int retransmit_mult = 4;
  int awareness_max = 8;
  int gossip_interval_ms = 100;
  int gossip_nodes = 3;
  int push_pull_interval_ms = 15000;
  int rejoin_interval_ms = 10000;
  // Testing knob: drop this share of incoming membership datagrams.
  int inject_loss_percent = 0;
};

struct RaftSection {
  int heartbeat_ms = 40;
  int election_timeout_min_ms = 150;
  int election_timeout_max_ms = 300;
  int check_quorum_ms = 1000;
  int snapshot_entries = 10000;
};

struct RpcSection {
  std::uint32_t max_frame_bytes = 16u * 1024 * 1024;
  int call_timeout_ms = 5000;
  int connect_timeout_ms = 300;
  // Every write on a cluster connection (RPC and data streams) must finish
  // within this; a peer that stops reading has its connection closed.
  int write_timeout_ms = 5000;
  // Encoded frames waiting to be written on one RPC connection, per side:
  // calls and replies wait for room beyond it (one larger frame may go
  // alone).
  std::uint32_t max_queued_bytes = 4u * 1024 * 1024;
  // Request bytes of the handlers running on one server connection: the
  // server stops reading beyond it (one larger request may run alone).
  std::uint32_t max_inflight_request_bytes = 32u * 1024 * 1024;
  // TCP_USER_TIMEOUT of cluster sockets: the kernel drops a connection
  // whose sent data stays unacknowledged this long; 0: the kernel default.
  int tcp_user_timeout_ms = 10000;
  // An accepted connection must say what it is (RPC or data stream) within
  // this, or it is closed.
  int preface_timeout_ms = 2000;
};

struct StreamSection {
  // Receive credit per data stream and direction: the most bytes a sender
  // may have in flight before the receiver's consumer reads them.
  std::uint32_t window_bytes = 2u * 1024 * 1024;
  // Largest data frame a sender writes.
  std::uint32_t frame_bytes = 256u * 1024;
  int connect_timeout_ms = 1000;
  // A write (or a wait for credit) that makes no progress this long fails
  // the stream.
  int write_timeout_ms = 10000;
  // No frame at all from the peer this long fails the stream (an idle but
  // live peer sends keep-alives at a third of it).
  int idle_timeout_ms = 15000;
  // The most bytes one stream carries in each direction.
  long long max_bytes = 64LL * 1024 * 1024 * 1024;
  // Streams served at once; further opens are rejected as busy.
  int max_streams = 64;
  // Idle pooled stream connections are closed after this (by the server
  // after twice this).
  int pool_idle_ms = 30000;
};

struct SdfsSection {
  int replicas = 4;
  int write_quorum = 3;
  int read_quorum = 2;
  int max_versions = 5;
  std::uint32_t chunk_size = 1024 * 1024;
  // How often each node removes the blocks of versions its copy of the
  // namespace has removed (drops it missed).
  int sweep_interval_ms = 60000;
};

struct MlSection {
  int threads = 0;  // 0: one per core
  int model_cache_mb = 512;
  // Inference batches with at least this many input floats run alone with
  // every ml thread working on each op (LibTorch intra-op); 0: never.
  long long wide_batch_floats = 0;
  // Free LibTorch tensor memory kept for reuse by the next forward pass, in
  // MiB; 0: LibTorch's own allocator.
  int tensor_cache_mb = 1024;
  // Online inference (the console's /v2 routes): a request waits up to this
  // long for others to share its batch, in microseconds.
  int online_queue_delay_us = 2000;
  // Images in one online batch at most (a bigger request runs alone).
  int online_max_batch = 64;
  // Workers that serve one model's online requests (the model stays warm
  // on them).
  int online_workers = 2;
};

struct ConsoleSection {
  HostPort bind{"127.0.0.1", 8001};
  std::string token;
  // Largest body of an online inference request (POST /v2/models/M/infer).
  int max_infer_body_mb = 32;
};

struct Config {
  NodeSection node;
  ClusterSection cluster;
  MembershipSection membership;
  RaftSection raft;
  RpcSection rpc;
  StreamSection stream;
  SdfsSection sdfs;
  MlSection ml;
  ConsoleSection console;

  // The name this node goes by (node.name or derived from the bind port).
  std::string node_name() const;
  // The address others reach this node at.
  HostPort advertise_address() const;
};

// A config file or option that cannot be used. `key` names what was wrong
// ("membership.probe_interval_ms", "--bind").
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, const std::string& message)
      : std::runtime_error(key + ": " + message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// Reads a TOML file. Missing keys keep their defaults; unknown keys, wrong
// types and bad values throw ConfigError.
Config load_config_file(const std::filesystem::path& path);
// Same, from TOML text (`origin` names it in messages).
Config parse_config(std::string_view toml_text, const std::string& origin = "config");

// Checks cross-key rules and the environment (ports, quorum sizes, a data
// dir that can be created and written). Throws ConfigError.
void validate_config(const Config& config);

}  // namespace idunno::core
