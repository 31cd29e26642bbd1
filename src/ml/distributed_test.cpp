// idunno-train-worker as a user runs it: data-parallel training across two
// real processes meeting through a FileStore on loopback (both end with
// identical weights), and training followed by inference over the test set
// through the executor.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "ml/base/dataset.hpp"
#include "ml/base/test_util.hpp"

extern char** environ;

namespace idunno::ml {
namespace {

// Starts args[0] with args; its stdout goes to `stdout_fd` and its stderr
// to the file `stderr_path` when given (the child closes `close_fd`).
pid_t spawn(std::vector<std::string> args, int stdout_fd = -1, const std::string& stderr_path = {}, int close_fd = -1) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  if (!stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  if (close_fd >= 0) posix_spawn_file_actions_addclose(&actions, close_fd);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0) << argv[0];
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Trains `model` on `limit` Fashion-MNIST samples with two ranks; returns
// each rank's final weights (raw floats) and prints the workers' output.
std::vector<std::string> train_two_ranks(const test::TempDir& dir, const std::string& model, const std::string& limit) {
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    const std::string r = std::to_string(rank);
    pids.push_back(spawn({IDUNNO_TRAIN_WORKER, "--model", model, "--data",
                          test::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz", "--limit", limit, "--batch", "32",
                          "--epochs", "2", "--lr", "0.02", "--seed", "7", "--threads", "1", "--rank", r, "--world", "2",
                          "--store", dir.file(model + ".store"), "--state-out", dir.file(model + ".state" + r)}));
  }
  std::vector<std::string> states;
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(wait_exit(pids[static_cast<std::size_t>(rank)]), 0) << "rank " << rank;
    states.push_back(read_all(dir.file(model + ".state" + std::to_string(rank))));
  }
  return states;
}

TEST(Distributed, TwoGlooRanksEndWithIdenticalWeights) {
  ASSERT_TRUE(test::have_fashion_mnist()) << test::fashion_mnist_missing();
  test::TempDir dir;
  // LeNet (parameters only) and the ResNet (BatchNorm statistics too).
  for (const auto& [model, limit] : {std::pair{"lenet", "2048"}, std::pair{"resnet-fmnist", "256"}}) {
    SCOPED_TRACE(model);
    const auto states = train_two_ranks(dir, model, limit);
    ASSERT_GT(states[0].size(), 1000U);
    EXPECT_EQ(states[0], states[1]);
  }
  // A single process with the same seed starts from the same weights but
  // sees all the data per step: its result differs (the ranks really split
  // the work rather than each training alone).
  const pid_t solo = spawn({IDUNNO_TRAIN_WORKER, "--model", "lenet", "--data",
                            test::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz", "--limit", "2048", "--batch", "32",
                            "--epochs", "2", "--lr", "0.02", "--seed", "7", "--threads", "1", "--state-out", dir.file("solo")});
  ASSERT_EQ(wait_exit(solo), 0);
  EXPECT_NE(read_all(dir.file("solo")), read_all(dir.file("lenet.state0")));
}

TEST(Distributed, ARankThatDiesFailsTheOthersAtOnceNotAfterTheTimeout) {
  ASSERT_TRUE(test::have_fashion_mnist()) << test::fashion_mnist_missing();
  test::TempDir dir;
  // Rank 0's stdout comes through a pipe: its first epoch line says the
  // group is training.
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    const std::string r = std::to_string(rank);
    std::vector<std::string> args{IDUNNO_TRAIN_WORKER,
                                  "--model",
                                  "lenet",
                                  "--data",
                                  test::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz",
                                  "--limit",
                                  "1024",
                                  "--batch",
                                  "32",
                                  "--epochs",
                                  "200",
                                  "--threads",
                                  "1",
                                  "--rank",
                                  r,
                                  "--world",
                                  "2",
                                  "--store",
                                  dir.file("store")};
    // Only rank 0 holds the pipe's write end, so it ends when rank 0 does.
    const pid_t pid = spawn(std::move(args), rank == 0 ? out[1] : -1, dir.file("err" + r), rank == 0 ? out[0] : out[1]);
    ASSERT_GT(pid, 0);
    pids.push_back(pid);
  }
  ::close(out[1]);
  FILE* rank0 = ::fdopen(out[0], "r");
  ASSERT_NE(rank0, nullptr);
  char line[512];
  bool training = false;
  while (!training && std::fgets(line, sizeof line, rank0) != nullptr)
    training = std::string(line).starts_with("epoch=1 ");
  ASSERT_TRUE(training) << read_all(dir.file("err0"));
  const auto killed = std::chrono::steady_clock::now();
  ::kill(pids[1], SIGKILL);
  wait_exit(pids[1]);
  // Without this, rank 0 would wait for rank 1 until the group's 60 s
  // timeout; its connection closing ends the next collective at once.
  const int code = wait_exit(pids[0]);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::fclose(rank0);
  EXPECT_NE(code, 0);
  EXPECT_LT(seconds, 10.0);
  EXPECT_NE(read_all(dir.file("err0")).find("across the training group failed"), std::string::npos)
      << read_all(dir.file("err0"));
}

TEST(TrainWorker, TrainsLenetThenWritesResultsForTheWholeTestSet) {
  ASSERT_TRUE(test::have_fashion_mnist()) << test::fashion_mnist_missing();
  test::TempDir dir;
  const std::string test_set = test::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz";
  const pid_t worker = spawn({IDUNNO_TRAIN_WORKER, "--model", "lenet", "--data",
                              test::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz", "--limit", "6000", "--batch",
                              "32", "--optimizer", "adam", "--lr", "0.002", "--seed", "1", "--threads", "2", "--eval",
                              test_set, "--results", dir.file("results.txt"), "--out", dir.file("lenet.pt")});
  ASSERT_EQ(wait_exit(worker), 0);
  // One "INDEX LABEL SCORE" line per test image, in query order; the
  // predictions agree with the labels well above chance (10 classes).
  const auto labels = open_dataset(test_set);
  std::istringstream results(read_all(dir.file("results.txt")));
  std::size_t lines = 0;
  std::size_t correct = 0;
  std::size_t index = 0;
  std::int64_t label = 0;
  double score = 0;
  while (results >> index >> label >> score) {
    ASSERT_EQ(index, lines);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ASSERT_GT(score, 0.0);
    ASSERT_LE(score, 1.0);
    if (labels->label(index) == label) ++correct;
    ++lines;
  }
  EXPECT_EQ(lines, labels->size());
  EXPECT_GT(static_cast<double>(correct) / static_cast<double>(lines), 0.7);
  EXPECT_GT(read_all(dir.file("lenet.pt")).size(), 1000U);
}

}  // namespace
}  // namespace idunno::ml
