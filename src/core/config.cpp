#include "core/config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace idunno::core {

std::optional<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return HostPort{host, static_cast<std::uint16_t>(port)};
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string Config::node_name() const {
  return node.name.empty() ? "node-" + std::to_string(node.bind.port) : node.name;
}

HostPort Config::advertise_address() const { return node.advertise.value_or(node.bind); }

namespace {

// Walks one TOML table, handing out its keys by type and remembering which
// were taken, so that whatever is left over is reported as unknown.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string prefix)
      : table_(table), prefix_(std::move(prefix)) {}

  template <typename Int>
  void integer(const char* key, Int& out, long long min, long long max) {
    const toml::node* node = take(key);
    if (!node) return;
    const auto value = node->value_exact<std::int64_t>();
    if (!value) throw ConfigError(name(key), "must be an integer");
    if (*value < min || *value > max) {
      throw ConfigError(name(key), "must be between " + std::to_string(min) + " and " +
                                       std::to_string(max) + ", not " + std::to_string(*value));
    }
    out = static_cast<Int>(*value);
  }

  void string(const char* key, std::string& out) {
    const toml::node* node = take(key);
    if (!node) return;
    const auto value = node->value_exact<std::string>();
    if (!value) throw ConfigError(name(key), "must be a string");
    out = *value;
  }

  void address(const char* key, HostPort& out) {
    std::string text;
    if (!take_string(key, text)) return;
    out = to_address(name(key), text);
  }

  void optional_address(const char* key, std::optional<HostPort>& out) {
    std::string text;
    if (!take_string(key, text)) return;
    if (text.empty()) {
      out.reset();
    } else {
      out = to_address(name(key), text);
    }
  }

  void address_list(const char* key, std::vector<HostPort>& out) {
    const toml::node* node = take(key);
    if (!node) return;
    const toml::array* array = node->as_array();
    if (!array) throw ConfigError(name(key), "must be an array of \"HOST:PORT\" strings");
    out.clear();
    for (const auto& element : *array) {
      const auto text = element.value_exact<std::string>();
      if (!text) throw ConfigError(name(key), "must be an array of \"HOST:PORT\" strings");
      out.push_back(to_address(name(key), *text));
    }
  }

  // Throws for the first key nobody asked for.
  void reject_unknown() const {
    if (!table_) return;
    for (const auto& [key, value] : *table_) {
      if (!taken_.contains(std::string(key.str()))) {
        throw ConfigError(name(std::string(key.str()).c_str()), "unknown key (check the spelling; see config.toml)");
      }
    }
  }

 private:
  const toml::node* take(const char* key) {
    taken_.insert(key);
    return table_ ? table_->get(key) : nullptr;
  }

  bool take_string(const char* key, std::string& out) {
    const toml::node* node = take(key);
    if (!node) return false;
    const auto value = node->value_exact<std::string>();
    if (!value) throw ConfigError(name(key), "must be a string \"HOST:PORT\"");
    out = *value;
    return true;
  }

  static HostPort to_address(const std::string& key, const std::string& text) {
    auto parsed = parse_host_port(text);
    if (!parsed) {
      throw ConfigError(key, "'" + text + "' is not HOST:PORT with a port between 1 and 65535");
    }
    return *parsed;
  }

  std::string name(const char* key) const { return prefix_ + "." + key; }

  const toml::table* table_;
  std::string prefix_;
  std::set<std::string> taken_;
};

const toml::table* section(const toml::table& root, const char* key) {
  const toml::node* node = root.get(key);
  if (!node) return nullptr;
  if (!node->is_table()) throw ConfigError(key, "must be a table ([" + std::string(key) + "])");
  return node->as_table();
}

constexpr long long kMaxInt = std::numeric_limits<int>::max();

}  // namespace

Config parse_config(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& error) {
    std::ostringstream where;
    where << error.source().begin;
    throw ConfigError(origin, "not valid TOML at " + where.str() + ": " + std::string(error.description()));
  }

  static const std::set<std::string> known_sections = {
      "node", "cluster", "membership", "raft", "rpc", "stream", "sdfs", "ml", "console"};
  for (const auto& [key, value] : root) {
    if (!known_sections.contains(std::string(key.str()))) {
      throw ConfigError(std::string(key.str()), "unknown section or key (check the spelling; see config.toml)");
    }
  }

  Config c;
  {
    TableReader r(section(root, "node"), "node");
    r.string("name", c.node.name);
    r.address("bind", c.node.bind);
    r.optional_address("advertise", c.node.advertise);
    std::string dir = c.node.data_dir.string();
    r.string("data_dir", dir);
    c.node.data_dir = dir;
    r.string("log_level", c.node.log_level);
    r.integer("io_threads", c.node.io_threads, 0, 1024);
    r.reject_unknown();
  }
  {
    TableReader r(section(root, "cluster"), "cluster");
    r.address_list("seeds", c.cluster.seeds);
    r.integer("voters", c.cluster.voters, 1, 15);
    r.string("secret", c.cluster.secret);
    r.reject_unknown();
  }
  {
    auto& m = c.membership;
    TableReader r(section(root, "membership"), "membership");
    r.integer("probe_interval_ms", m.probe_interval_ms, 10, 60000);
    r.integer("probe_timeout_ms", m.probe_timeout_ms, 5, 60000);
    r.integer("indirect_checks", m.indirect_checks, 0, 16);
    r.integer("suspicion_mult", m.suspicion_mult, 1, 100);
    r.integer("suspicion_max_mult", m.suspicion_max_mult, 1, 100);
    r.integer("retransmit_mult", m.retransmit_mult, 1, 100);
    r.integer("awareness_max", m.awareness_max, 1, 64);
    r.integer("gossip_interval_ms", m.gossip_interval_ms, 5, 60000);
    r.integer("gossip_nodes", m.gossip_nodes, 0, 64);
    r.integer("push_pull_interval_ms", m.push_pull_interval_ms, 100, 3600000);
    r.integer("rejoin_interval_ms", m.rejoin_interval_ms, 100, 3600000);
    r.integer("inject_loss_percent", m.inject_loss_percent, 0, 100);
    r.reject_unknown();
  }
  {
    auto& s = c.raft;
    TableReader r(section(root, "raft"), "raft");
    r.integer("heartbeat_ms", s.heartbeat_ms, 5, 60000);
    r.integer("election_timeout_min_ms", s.election_timeout_min_ms, 10, 600000);
    r.integer("election_timeout_max_ms", s.election_timeout_max_ms, 10, 600000);
    r.integer("check_quorum_ms", s.check_quorum_ms, 10, 600000);
    r.integer("snapshot_entries", s.snapshot_entries, 10, kMaxInt);
    r.reject_unknown();
  }
  {
    TableReader r(section(root, "rpc"), "rpc");
    r.integer("max_frame_bytes", c.rpc.max_frame_bytes, 1024, 1LL << 30);
    r.integer("call_timeout_ms", c.rpc.call_timeout_ms, 1, 3600000);
    r.integer("connect_timeout_ms", c.rpc.connect_timeout_ms, 1, 600000);
    r.integer("write_timeout_ms", c.rpc.write_timeout_ms, 10, 3600000);
    r.integer("max_queued_bytes", c.rpc.max_queued_bytes, 1024, 1LL << 30);
    r.integer("max_inflight_request_bytes", c.rpc.max_inflight_request_bytes, 1024, 0xFFFFFFFFLL);
    r.integer("tcp_user_timeout_ms", c.rpc.tcp_user_timeout_ms, 0, 3600000);
    r.integer("preface_timeout_ms", c.rpc.preface_timeout_ms, 10, 600000);
    r.reject_unknown();
  }
  {
    auto& s = c.stream;
    TableReader r(section(root, "stream"), "stream");
    r.integer("window_bytes", s.window_bytes, 4096, 1LL << 30);
    r.integer("frame_bytes", s.frame_bytes, 1024, 1LL << 20);
    r.integer("connect_timeout_ms", s.connect_timeout_ms, 1, 600000);
    r.integer("write_timeout_ms", s.write_timeout_ms, 10, 3600000);
    r.integer("idle_timeout_ms", s.idle_timeout_ms, 30, 3600000);
    r.integer("max_bytes", s.max_bytes, 1, 1LL << 50);
    r.integer("max_streams", s.max_streams, 1, 65536);
    r.integer("pool_idle_ms", s.pool_idle_ms, 10, 3600000);
    r.reject_unknown();
  }
  {
    auto& s = c.sdfs;
    TableReader r(section(root, "sdfs"), "sdfs");
    r.integer("replicas", s.replicas, 1, 16);
    r.integer("write_quorum", s.write_quorum, 1, 16);
    r.integer("read_quorum", s.read_quorum, 1, 16);
    r.integer("max_versions", s.max_versions, 1, 1000);
    r.integer("chunk_size", s.chunk_size, 4096, 64LL * 1024 * 1024);
    r.integer("sweep_interval_ms", s.sweep_interval_ms, 100, 86400000);
    r.reject_unknown();
  }
  {
    TableReader r(section(root, "ml"), "ml");
    r.integer("threads", c.ml.threads, 0, 1024);
    r.integer("model_cache_mb", c.ml.model_cache_mb, 1, 1 << 20);
    r.integer("wide_batch_floats", c.ml.wide_batch_floats, 0, 1LL << 40);
    r.integer("tensor_cache_mb", c.ml.tensor_cache_mb, 0, 1 << 20);
    r.integer("online_queue_delay_us", c.ml.online_queue_delay_us, 0, 1000000);
    r.integer("online_max_batch", c.ml.online_max_batch, 1, 65536);
    r.integer("online_workers", c.ml.online_workers, 1, 1024);
    r.reject_unknown();
  }
  {
    TableReader r(section(root, "console"), "console");
    r.address("bind", c.console.bind);
    r.string("token", c.console.token);
    r.integer("max_infer_body_mb", c.console.max_infer_body_mb, 1, 1024);
    r.reject_unknown();
  }
  return c;
}

Config load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--config", "cannot read '" + path.string() + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.string());
}

void validate_config(const Config& c) {
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.contains(c.node.log_level)) {
    throw ConfigError("node.log_level", "must be one of trace, debug, info, warn, error, critical, off; not '" +
                                            c.node.log_level + "'");
  }
  for (char ch : c.node.name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '_' || ch == '.';
    if (!ok) throw ConfigError("node.name", "may hold only letters, digits, '-', '_' and '.'");
  }
  if (c.node.name.size() > 64) throw ConfigError("node.name", "must be at most 64 characters");
  if (c.membership.probe_timeout_ms >= c.membership.probe_interval_ms) {
    throw ConfigError("membership.probe_timeout_ms", "must be shorter than membership.probe_interval_ms");
  }
  if (c.raft.election_timeout_min_ms > c.raft.election_timeout_max_ms) {
    throw ConfigError("raft.election_timeout_min_ms", "must not exceed raft.election_timeout_max_ms");
  }
  if (c.raft.check_quorum_ms <= c.raft.heartbeat_ms) {
    throw ConfigError("raft.check_quorum_ms", "must be longer than raft.heartbeat_ms");
  }
  if (c.raft.heartbeat_ms * 2 > c.raft.election_timeout_min_ms) {
    throw ConfigError("raft.heartbeat_ms", "must be at most half of raft.election_timeout_min_ms");
  }
  if (c.stream.frame_bytes > c.stream.window_bytes) {
    throw ConfigError("stream.frame_bytes", "must not exceed stream.window_bytes");
  }
  if (c.sdfs.write_quorum > c.sdfs.replicas) {
    throw ConfigError("sdfs.write_quorum", "must not exceed sdfs.replicas");
  }
  if (c.sdfs.read_quorum > c.sdfs.replicas) {
    throw ConfigError("sdfs.read_quorum", "must not exceed sdfs.replicas");
  }
  if (c.sdfs.write_quorum + c.sdfs.read_quorum <= c.sdfs.replicas) {
    throw ConfigError("sdfs.read_quorum", "sdfs.write_quorum + sdfs.read_quorum must exceed sdfs.replicas");
  }
  if (c.node.bind == c.console.bind) {
    throw ConfigError("console.bind", "must differ from node.bind");
  }
  if (!is_loopback_host(c.console.bind.host) && c.console.token.empty()) {
    throw ConfigError("console.token", "must be set when console.bind (" + c.console.bind.to_string() +
                                           ") is not a loopback address");
  }
  // The data dir must exist (or be creatable) and be writable.
  std::error_code ec;
  std::filesystem::create_directories(c.node.data_dir, ec);
  if (ec || !std::filesystem::is_directory(c.node.data_dir)) {
    throw ConfigError("node.data_dir", "cannot create '" + c.node.data_dir.string() + "'" +
                                           (ec ? ": " + ec.message() : ""));
  }
  if (::access(c.node.data_dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    throw ConfigError("node.data_dir", "'" + c.node.data_dir.string() + "' is not readable and writable");
  }
}

}  // namespace idunno::core
