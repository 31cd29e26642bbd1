#include "core/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace idunno::core {
namespace {

std::string error_key(const std::string& toml) {
  try {
    parse_config(toml);
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "";
}

TEST(Config, DefaultsWhenEmpty) {
  const Config c = parse_config("");
  EXPECT_EQ(c.node.bind, (HostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(c.console.bind, (HostPort{"127.0.0.1", 8001}));
  EXPECT_EQ(c.cluster.voters, 7);
  EXPECT_EQ(c.sdfs.replicas, 4);
  EXPECT_EQ(c.sdfs.write_quorum, 3);
  EXPECT_EQ(c.sdfs.read_quorum, 2);
  EXPECT_EQ(c.sdfs.max_versions, 5);
  EXPECT_EQ(c.node_name(), "node-7001");
  EXPECT_EQ(c.advertise_address(), c.node.bind);
}

TEST(Config, Overrides) {
  const Config c = parse_config(R"(
[node]
name = "alpha"
bind = "127.0.0.5:7100"
advertise = "127.0.0.5:7100"
[cluster]
seeds = ["127.0.0.1:7001", "127.0.0.2:7001"]
voters = 5
[membership]
probe_interval_ms = 500
[console]
bind = "127.0.0.1:9000"
token = "s3cret"
)");
  EXPECT_EQ(c.node_name(), "alpha");
  EXPECT_EQ(c.node.bind.port, 7100);
  ASSERT_EQ(c.cluster.seeds.size(), 2u);
  EXPECT_EQ(c.cluster.seeds[1], (HostPort{"127.0.0.2", 7001}));
  EXPECT_EQ(c.cluster.voters, 5);
  EXPECT_EQ(c.membership.probe_interval_ms, 500);
  EXPECT_EQ(c.console.token, "s3cret");
}

TEST(Config, UnknownKeyIsNamed) {
  EXPECT_EQ(error_key("[membership]\nprobe_intervall_ms = 3\n"), "membership.probe_intervall_ms");
  EXPECT_EQ(error_key("[nodes]\nname = \"x\"\n"), "nodes");
  EXPECT_EQ(error_key("toplevel = 1\n"), "toplevel");
}

TEST(Config, WrongTypeIsNamed) {
  EXPECT_EQ(error_key("[cluster]\nvoters = \"seven\"\n"), "cluster.voters");
  EXPECT_EQ(error_key("[node]\nname = 3\n"), "node.name");
  EXPECT_EQ(error_key("[cluster]\nseeds = \"127.0.0.1:7001\"\n"), "cluster.seeds");
  EXPECT_EQ(error_key("node = 5\n"), "node");
}

TEST(Config, BadValuesAreNamed) {
  EXPECT_EQ(error_key("[node]\nbind = \"127.0.0.1:70000\"\n"), "node.bind");
  EXPECT_EQ(error_key("[node]\nbind = \"127.0.0.1\"\n"), "node.bind");
  EXPECT_EQ(error_key("[console]\nbind = \"127.0.0.1:0\"\n"), "console.bind");
  EXPECT_EQ(error_key("[cluster]\nvoters = 0\n"), "cluster.voters");
  EXPECT_EQ(error_key("[sdfs]\nreplicas = -1\n"), "sdfs.replicas");
}

TEST(Config, SyntaxErrorNamesTheFile) {
  EXPECT_EQ(error_key("[node\n"), "config");
}

TEST(Config, ValidationRules) {
  auto rule_key = [](const std::string& toml) {
    try {
      Config c = parse_config(toml);
      c.node.data_dir = std::filesystem::temp_directory_path() / "idunno-config-test";
      validate_config(c);
    } catch (const ConfigError& e) {
      return e.key();
    }
    return std::string();
  };
  EXPECT_EQ(rule_key(""), "");
  EXPECT_EQ(rule_key("[node]\nlog_level = \"loud\"\n"), "node.log_level");
  EXPECT_EQ(rule_key("[node]\nname = \"a b\"\n"), "node.name");
  EXPECT_EQ(rule_key("[sdfs]\nreplicas = 2\nwrite_quorum = 3\n"), "sdfs.write_quorum");
  EXPECT_EQ(rule_key("[sdfs]\nreplicas = 4\nwrite_quorum = 2\nread_quorum = 2\n"), "sdfs.read_quorum");
  EXPECT_EQ(rule_key("[console]\nbind = \"0.0.0.0:8001\"\n"), "console.token");
  EXPECT_EQ(rule_key("[console]\nbind = \"0.0.0.0:8001\"\ntoken = \"t\"\n"), "");
  EXPECT_EQ(rule_key("[membership]\nprobe_interval_ms = 100\nprobe_timeout_ms = 100\n"),
            "membership.probe_timeout_ms");
}

TEST(Config, UnusableDataDirIsRefused) {
  Config c;
  // A directory cannot be created below a regular file.
  const auto file = std::filesystem::temp_directory_path() / "idunno-config-test-file";
  std::ofstream(file) << "x";
  c.node.data_dir = file / "data";
  try {
    validate_config(c);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "node.data_dir");
  }
  std::filesystem::remove(file);
}

TEST(Config, TransportKeysParseAndAreChecked) {
  const Config defaults;
  EXPECT_EQ(defaults.rpc.write_timeout_ms, 5000);
  EXPECT_EQ(defaults.stream.window_bytes, 2u * 1024 * 1024);
  const Config c = parse_config(
      "[rpc]\nwrite_timeout_ms = 700\nmax_queued_bytes = 65536\nmax_inflight_request_bytes = 131072\n"
      "tcp_user_timeout_ms = 0\npreface_timeout_ms = 300\n"
      "[stream]\nwindow_bytes = 1048576\nframe_bytes = 65536\nconnect_timeout_ms = 200\n"
      "write_timeout_ms = 900\nidle_timeout_ms = 1200\nmax_bytes = 1000000\nmax_streams = 3\npool_idle_ms = 500\n");
  EXPECT_EQ(c.rpc.write_timeout_ms, 700);
  EXPECT_EQ(c.rpc.max_queued_bytes, 65536u);
  EXPECT_EQ(c.rpc.max_inflight_request_bytes, 131072u);
  EXPECT_EQ(c.rpc.tcp_user_timeout_ms, 0);
  EXPECT_EQ(c.rpc.preface_timeout_ms, 300);
  EXPECT_EQ(c.stream.window_bytes, 1048576u);
  EXPECT_EQ(c.stream.frame_bytes, 65536u);
  EXPECT_EQ(c.stream.connect_timeout_ms, 200);
  EXPECT_EQ(c.stream.write_timeout_ms, 900);
  EXPECT_EQ(c.stream.idle_timeout_ms, 1200);
  EXPECT_EQ(c.stream.max_bytes, 1000000);
  EXPECT_EQ(c.stream.max_streams, 3);
  EXPECT_EQ(c.stream.pool_idle_ms, 500);
  EXPECT_THROW(parse_config("[stream]\nwindow = 1\n"), ConfigError);
  try {
    parse_config("[stream]\nwindow_bytes = 12\n");
    FAIL() << "tiny window accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "stream.window_bytes");
  }
  try {
    parse_config("[rpc]\nmax_queued_bytes = 0\n");
    FAIL() << "empty queue accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "rpc.max_queued_bytes");
  }
  Config bad = parse_config("[stream]\nwindow_bytes = 65536\nframe_bytes = 131072\n");
  bad.node.data_dir = std::filesystem::temp_directory_path() / "idunno-config-test";
  try {
    validate_config(bad);
    FAIL() << "frame larger than the window accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "stream.frame_bytes");
  }
}

TEST(HostPort, Parse) {
  EXPECT_EQ(parse_host_port("127.0.0.1:7001"), (HostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(parse_host_port("[::1]:80"), (HostPort{"::1", 80}));
  EXPECT_FALSE(parse_host_port("127.0.0.1:"));
  EXPECT_FALSE(parse_host_port(":80"));
  EXPECT_FALSE(parse_host_port("h:65536"));
  EXPECT_FALSE(parse_host_port("h:8x"));
}

}  // namespace
}  // namespace idunno::core

namespace idunno::core {
namespace {

// The repository's config.toml must parse and hold exactly the defaults.
TEST(Config, ShippedExampleMatchesDefaults) {
  const Config shipped = load_config_file(std::filesystem::path(IDUNNO_SOURCE_DIR) / "config.toml");
  const Config defaults;
  EXPECT_EQ(shipped.node.bind, defaults.node.bind);
  EXPECT_EQ(shipped.node.name, defaults.node.name);
  EXPECT_EQ(shipped.node.data_dir, defaults.node.data_dir);
  EXPECT_EQ(shipped.cluster.voters, defaults.cluster.voters);
  EXPECT_EQ(shipped.membership.probe_interval_ms, defaults.membership.probe_interval_ms);
  EXPECT_EQ(shipped.membership.push_pull_interval_ms, defaults.membership.push_pull_interval_ms);
  EXPECT_EQ(shipped.raft.election_timeout_max_ms, defaults.raft.election_timeout_max_ms);
  EXPECT_EQ(shipped.rpc.max_frame_bytes, defaults.rpc.max_frame_bytes);
  EXPECT_EQ(shipped.rpc.write_timeout_ms, defaults.rpc.write_timeout_ms);
  EXPECT_EQ(shipped.rpc.max_queued_bytes, defaults.rpc.max_queued_bytes);
  EXPECT_EQ(shipped.rpc.max_inflight_request_bytes, defaults.rpc.max_inflight_request_bytes);
  EXPECT_EQ(shipped.rpc.tcp_user_timeout_ms, defaults.rpc.tcp_user_timeout_ms);
  EXPECT_EQ(shipped.rpc.preface_timeout_ms, defaults.rpc.preface_timeout_ms);
  EXPECT_EQ(shipped.stream.window_bytes, defaults.stream.window_bytes);
  EXPECT_EQ(shipped.stream.frame_bytes, defaults.stream.frame_bytes);
  EXPECT_EQ(shipped.stream.connect_timeout_ms, defaults.stream.connect_timeout_ms);
  EXPECT_EQ(shipped.stream.write_timeout_ms, defaults.stream.write_timeout_ms);
  EXPECT_EQ(shipped.stream.idle_timeout_ms, defaults.stream.idle_timeout_ms);
  EXPECT_EQ(shipped.stream.max_bytes, defaults.stream.max_bytes);
  EXPECT_EQ(shipped.stream.max_streams, defaults.stream.max_streams);
  EXPECT_EQ(shipped.stream.pool_idle_ms, defaults.stream.pool_idle_ms);
  EXPECT_EQ(shipped.sdfs.chunk_size, defaults.sdfs.chunk_size);
  EXPECT_EQ(shipped.ml.model_cache_mb, defaults.ml.model_cache_mb);
  EXPECT_EQ(shipped.ml.wide_batch_floats, defaults.ml.wide_batch_floats);
  EXPECT_EQ(shipped.ml.tensor_cache_mb, defaults.ml.tensor_cache_mb);
  EXPECT_EQ(shipped.ml.online_queue_delay_us, defaults.ml.online_queue_delay_us);
  EXPECT_EQ(shipped.ml.online_max_batch, defaults.ml.online_max_batch);
  EXPECT_EQ(shipped.ml.online_workers, defaults.ml.online_workers);
  EXPECT_EQ(shipped.console.max_infer_body_mb, defaults.console.max_infer_body_mb);
  EXPECT_EQ(shipped.console.bind, defaults.console.bind);
}

}  // namespace
}  // namespace idunno::core

namespace idunno::core {
namespace {

// The I/O pool's size: parsed, bounded, and documented with its default.
TEST(Config, IoThreads) {
  EXPECT_EQ(parse_config("[node]\nio_threads = 3\n").node.io_threads, 3);
  EXPECT_EQ(Config{}.node.io_threads, 0);
  EXPECT_THROW(parse_config("[node]\nio_threads = -1\n"), ConfigError);
  try {
    parse_config("[node]\nio_threads = \"two\"\n");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "node.io_threads");
  }
  const Config shipped = load_config_file(std::filesystem::path(IDUNNO_SOURCE_DIR) / "config.toml");
  EXPECT_EQ(shipped.node.io_threads, Config{}.node.io_threads);
}

}  // namespace
}  // namespace idunno::core

namespace idunno::core {
namespace {

// The online inference keys: parsed, bounded, defaults as documented.
TEST(Config, OnlineInference) {
  const Config c = parse_config(
      "[ml]\nonline_queue_delay_us = 500\nonline_max_batch = 16\nonline_workers = 3\n"
      "[console]\nmax_infer_body_mb = 4\n");
  EXPECT_EQ(c.ml.online_queue_delay_us, 500);
  EXPECT_EQ(c.ml.online_max_batch, 16);
  EXPECT_EQ(c.ml.online_workers, 3);
  EXPECT_EQ(c.console.max_infer_body_mb, 4);
  EXPECT_EQ(Config{}.ml.online_queue_delay_us, 2000);
  EXPECT_EQ(Config{}.ml.online_max_batch, 64);
  EXPECT_EQ(Config{}.console.max_infer_body_mb, 32);
  EXPECT_THROW(parse_config("[ml]\nonline_max_batch = 0\n"), ConfigError);
  EXPECT_THROW(parse_config("[ml]\nonline_queue_delay_us = -1\n"), ConfigError);
  EXPECT_THROW(parse_config("[console]\nmax_infer_body_mb = 0\n"), ConfigError);
}

}  // namespace
}  // namespace idunno::core
