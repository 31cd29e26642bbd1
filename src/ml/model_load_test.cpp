// Loading TorchScript models: a file written by Python's torch.jit.save
// loads and computes what Python computed; bad files give clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "ml/base/batch.hpp"
#include "ml/base/errors.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/inference.hpp"
#include "ml/model.hpp"
#include "ml/trainer.hpp"
#include "ml/base/test_util.hpp"
#include "ml/zoo.hpp"

namespace idunno::ml {
namespace {

// Runs `script` with Python (argv[1]: dir's path); returns false, with
// Python's stderr in *why, when it fails or no python3 with torch is there.
bool run_python(const test::TempDir& dir, const std::string& script, std::string* why) {
  test::write_file(dir.file("script.py"), script);
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    const std::string command =
        std::string(python) + " " + dir.file("script.py") + " " + dir.path().string() + " 2>" + dir.file("python.err");
    if (std::system(command.c_str()) == 0) return true;
  }
  std::ifstream err(dir.file("python.err"));
  std::stringstream text;
  text << err.rdbuf();
  *why = text.str();
  return false;
}

// Writes a scripted model and its outputs on a fixed input with Python's
// torch; returns false when no python3 with torch is available.
bool write_python_model(const test::TempDir& dir, std::string* why) {
  const std::string script = R"(
import sys, torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 26 * 26, 10)
    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))
torch.manual_seed(0)
m = torch.jit.script(Net().eval())
m.save(sys.argv[1] + "/plain.pt")
torch.jit.save(m, sys.argv[1] + "/meta.pt", _extra_files={"idunno_model.txt": "input=1,28,28\nmean=0.5\nstd=0.25\n"})
x = (torch.arange(2 * 784, dtype=torch.float32).reshape(2, 1, 28, 28) % 17) / 17.0
with open(sys.argv[1] + "/expected.txt", "w") as f:
    f.write(" ".join("%.9g" % v for v in m(x).flatten().tolist()))
)";
  return run_python(dir, script, why);
}

template <typename Fn>
void expect_model_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected ModelError containing '" << needle << "'";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

LoadOptions named(const std::string& name, std::optional<ImageShape> input = std::nullopt) {
  return LoadOptions{.name = name, .source = ModelSource::file, .input = input, .normalization = std::nullopt};
}

// n unlabelled samples of `shape` holding ((i * 7919) % 255) / 255 - offset
// for i = 0, 1, ...: the ramp the Python scripts below build with
// torch.arange.
Batch ramp_batch(const ImageShape& shape, int n, float offset) {
  Batch batch;
  batch.shape = shape;
  for (std::int64_t i = 0; i < n * shape.elements(); ++i) {
    batch.values.push_back(static_cast<float>((i * 7919) % 255) / 255.0F - offset);
  }
  for (int i = 0; i < n; ++i) {
    batch.indices.push_back(i);
    batch.labels.push_back(-1);
  }
  return batch;
}

// The whitespace-separated numbers of a file Python wrote.
std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path);
  std::vector<float> out;
  for (float v = 0; in >> v;) out.push_back(v);
  return out;
}

TEST(ModelLoad, PythonTorchScriptLoadsAndMatchesPython) {
  test::TempDir dir;
  std::string why;
  ASSERT_TRUE(write_python_model(dir, &why))
      << "python3 with torch could not write the model (install the Debian package python3-torch; scripts/deps.sh "
         "does): "
      << why;
  const auto model = Model::load_file(dir.file("plain.pt"), named("py", ImageShape{1, 28, 28}));
  EXPECT_EQ(model->info().classes, 10);
  EXPECT_EQ(model->info().input, (ImageShape{1, 28, 28}));
  Batch batch;
  batch.shape = {1, 28, 28};
  for (int i = 0; i < 2 * 784; ++i) batch.values.push_back(static_cast<float>(i % 17) / 17.0F);
  batch.indices = {0, 1};
  batch.labels = {-1, -1};
  const auto logits = run_logits(*model, batch);
  const auto expected = read_floats(dir.file("expected.txt"));
  ASSERT_EQ(logits.size(), expected.size());
  for (std::size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(logits[i], expected[i], 1e-4F) << i;

  // Metadata written from Python is honoured.
  const auto with_meta = Model::load_file(dir.file("meta.pt"), named("py-meta"));
  EXPECT_EQ(with_meta->info().input, (ImageShape{1, 28, 28}));
  EXPECT_EQ(with_meta->info().normalization, (Normalization{{0.5F}, {0.25F}}));
  // Without metadata or a shape, loading asks for the shape.
  expect_model_error([&] { Model::load_file(dir.file("plain.pt"), named("py")); }, "input shape unknown");
  // The wrong input shape is refused with the shape in the message.
  expect_model_error([&] { Model::load_file(dir.file("plain.pt"), named("py", ImageShape{3, 28, 28})); },
                     "does not accept input 3x28x28");
  expect_model_error([&] { Model::load_file(dir.file("meta.pt"), named("py", ImageShape{1, 32, 32})); },
                     "takes input 1x28x28, not 1x32x32");
}

// A model prepared for serving pools through the engine's operator
// (serving_torch.cpp) and computes what the plain module computes: a
// Python model with max pools of every kind the operator takes (a
// submodule's, padded 3x3, rectangular, 4x4) and one it hands back
// (ceil_mode), on odd sizes, against the same file unprepared and against
// Python.
TEST(ModelLoad, ServingPoolsAsMaxPool2dDoes) {
  test::TempDir dir;
  const std::string script = R"(
import sys, torch
import torch.nn.functional as F
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.ceil = torch.nn.MaxPool2d(2, ceil_mode=True)
        self.fc = torch.nn.Linear(4 * (15 * 14 + 14 * 13 + 15 * 14 + 28 * 13 + 10 * 10), 10)
    def forward(self, x):
        x = torch.relu(self.conv(x))
        parts = [F.max_pool2d(x, 3, 2, 1), self.pool(x), self.ceil(x), F.max_pool2d(x, (2, 3), (1, 2)),
                 F.max_pool2d(x, 4, 3, 2)]
        return self.fc(torch.cat([p.flatten(1) for p in parts], 1))
torch.manual_seed(0)
m = torch.jit.script(Net().eval())
m.save(sys.argv[1] + "/pools.pt")
x = ((torch.arange(3 * 29 * 27) * 7919) % 255).float().reshape(3, 1, 29, 27) / 255.0 - 0.3
with open(sys.argv[1] + "/expected.txt", "w") as f:
    f.write(" ".join("%.9g" % v for v in m(x).flatten().tolist()))
)";
  std::string why;
  ASSERT_TRUE(run_python(dir, script, &why)) << why;
  const auto plain = Model::load_file(dir.file("pools.pt"), named("pools", ImageShape{1, 29, 27}));
  const auto served = Model::load_file(dir.file("pools.pt"), named("pools", ImageShape{1, 29, 27}));
  EXPECT_EQ(served->prepare_for_serving(), 5U);
  EXPECT_EQ(served->prepare_for_serving(), 5U);  // idempotent
  const Batch batch = ramp_batch({1, 29, 27}, 3, 0.3F);
  const auto fast_before = fast_pool_calls();
  const auto ours = run_logits(*served, batch);
  EXPECT_EQ(fast_pool_calls() - fast_before, 4U);  // all but the ceil_mode one
  EXPECT_EQ(ours, run_logits(*plain, batch));
  EXPECT_EQ(fast_pool_calls() - fast_before, 4U);
  const auto expected = read_floats(dir.file("expected.txt"));
  ASSERT_EQ(ours.size(), expected.size());
  for (std::size_t i = 0; i < ours.size(); ++i) EXPECT_NEAR(ours[i], expected[i], 1e-5F) << i;
  // What is saved is the module as loaded: Python, which knows no operator
  // of ours, loads it and computes the same.
  served->save_file(dir.file("saved.pt"));
  const std::string reload = R"(
import sys, torch
d = sys.argv[1]
m = torch.jit.load(d + "/saved.pt").eval()
x = ((torch.arange(3 * 29 * 27) * 7919) % 255).float().reshape(3, 1, 29, 27) / 255.0 - 0.3
expected = torch.tensor([float(v) for v in open(d + "/expected.txt").read().split()])
with torch.no_grad():
    assert torch.allclose(m(x).flatten(), expected, rtol=1e-5, atol=1e-6)
)";
  EXPECT_TRUE(run_python(dir, reload, &why)) << why;
}

// The fast way against LibTorch's max_pool2d on what the model above never
// feeds it: negative values, NaN and infinities, doubles and bfloat16, an
// unbatched (3-D) input, a one-entry kernel with an empty stride, and an
// input shorter than the window but padded to it.
TEST(ModelLoad, ServingPoolsRawValuesAsMaxPool2dDoes) {
  test::TempDir dir;
  const std::string script = R"(
import sys, torch
import torch.nn.functional as F
class Raw(torch.nn.Module):
    def forward(self, x):
        parts = [F.max_pool2d(x, 2), F.max_pool2d(x.double(), 3, 2, 1).float(), F.max_pool2d(x, [2], [], [1]),
                 F.max_pool2d(x.to(torch.bfloat16), 2, 1).float(), F.max_pool2d(x[:, :, :3].contiguous(), 4, 1, 2)]
        flat = torch.cat([p.flatten(1) for p in parts], 1)
        unbatched = F.max_pool2d(x[0], 3, 1, 1).flatten().unsqueeze(0).expand(x.size(0), -1)
        return torch.cat([flat, unbatched], 1)
torch.jit.script(Raw()).save(sys.argv[1] + "/raw.pt")
)";
  std::string why;
  ASSERT_TRUE(run_python(dir, script, &why)) << why;
  const ImageShape shape{2, 5, 7};
  const auto plain = Model::load_file(dir.file("raw.pt"), named("raw", shape));
  const auto served = Model::load_file(dir.file("raw.pt"), named("raw", shape));
  EXPECT_EQ(served->prepare_for_serving(), 6U);
  Batch batch = ramp_batch(shape, 2, 0.5F);  // never 0
  for (std::size_t i = 0; i < batch.values.size(); ++i) {
    if (i % 37 == 5) batch.values[i] = std::numeric_limits<float>::quiet_NaN();
    if (i % 41 == 3) batch.values[i] = -std::numeric_limits<float>::infinity();
    if (i % 43 == 7) batch.values[i] = std::numeric_limits<float>::infinity();
  }
  const auto fast_before = fast_pool_calls();
  const auto ours = run_logits(*served, batch);
  EXPECT_EQ(fast_pool_calls() - fast_before, 6U);
  const auto theirs = run_logits(*plain, batch);
  ASSERT_EQ(ours.size(), theirs.size());
  std::size_t nans = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (std::isnan(theirs[i])) {
      ++nans;
      EXPECT_TRUE(std::isnan(ours[i])) << i;
    } else {
      EXPECT_EQ(ours[i], theirs[i]) << i;
    }
  }
  EXPECT_GT(nans, 0U);
  EXPECT_GT(std::count(theirs.begin(), theirs.end(), std::numeric_limits<float>::infinity()), 0);
}

// The zoo's LeNet as it is served and as Python runs the file it saves.
TEST(ModelLoad, ServedZooLenetMatchesPython) {
  test::TempDir dir;
  const auto lenet = make_zoo_model("lenet", 5);
  EXPECT_EQ(lenet->prepare_for_serving(), 2U);
  lenet->save_file(dir.file("lenet.pt"));
  const Batch batch = ramp_batch({1, 28, 28}, 3, 0.3F);
  std::ostringstream ours;
  for (const float v : run_logits(*lenet, batch)) ours << std::setprecision(9) << v << " ";
  test::write_file(dir.file("ours.txt"), ours.str());
  const std::string script = R"(
import sys, torch
d = sys.argv[1]
m = torch.jit.load(d + "/lenet.pt").eval()
x = ((torch.arange(3 * 784) * 7919) % 255).float().reshape(3, 1, 28, 28) / 255.0 - 0.3
with torch.no_grad():
    theirs = m(x).flatten()
ours = torch.tensor([float(v) for v in open(d + "/ours.txt").read().split()])
assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-6), (ours - theirs).abs().max()
)";
  std::string why;
  EXPECT_TRUE(run_python(dir, script, &why)) << why;
}

// Training runs in channels-last order; the trained model it hands back is
// in NCHW again, which is what Python and our inference expect of a file.
TEST(ModelLoad, ATrainedModelIsSavedInNchwOrder) {
  test::TempDir dir;
  const auto data = IdxDataset::from_bytes(test::idx_images(128), test::idx_labels(128));
  auto model = make_zoo_model("lenet", 2);
  const auto before = model->flat_state();
  TrainOptions options;
  options.batch_size = 32;
  const auto result = train_model(*model, *data, nullptr, options, {});
  ASSERT_EQ(result.epochs.size(), 1U);
  EXPECT_NE(model->flat_state(), before);
  model->save_file(dir.file("trained.pt"));
  const std::string script = R"(
import sys, torch
m = torch.jit.load(sys.argv[1] + "/trained.pt")
for name, p in m.named_parameters():
    assert p.is_contiguous(), name + " is not in NCHW order"
assert any(p.dim() == 4 for p in m.parameters())
)";
  std::string why;
  EXPECT_TRUE(run_python(dir, script, &why)) << why;
}

TEST(ModelLoad, NotTorchScriptIsAClearError) {
  expect_model_error([] { Model::load_bytes("this is not a model", named("junk")); }, "model junk: not a TorchScript file");
  expect_model_error([] { Model::load_file("/nonexistent/model.pt", named("gone")); }, "cannot open");
}

TEST(ModelLoad, TruncatedArchiveIsAClearError) {
  const std::string bytes = make_zoo_model("lenet", 0)->save_bytes();
  expect_model_error([&] { Model::load_bytes(bytes.substr(0, bytes.size() / 2), named("half")); },
                     "corrupt or truncated TorchScript archive");
}

TEST(ModelLoad, WrongInputShapeIsAClearError) {
  const auto lenet = make_zoo_model("lenet", 0);
  expect_model_error([&] { lenet->check_input({3, 224, 224}); }, "model lenet does not accept input 3x224x224");
  EXPECT_NO_THROW(lenet->check_input({1, 28, 28}));
  Batch batch;
  batch.shape = {1, 32, 32};
  batch.values.assign(1024, 0.0F);
  batch.indices = {0};
  batch.labels = {-1};
  expect_model_error([&] { run_batch(*lenet, batch); }, "takes input 1x28x28");
}

}  // namespace
}  // namespace idunno::ml
