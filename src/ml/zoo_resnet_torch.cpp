// ResNets for the zoo: a ResNet-14 for 28x28 grayscale and the standard
// ResNet-18 (torchvision's layout and initialisation).
#include <vector>

#include "ml/zoo_builder.hpp"

namespace idunno::ml::zoo {

namespace {
// conv-bn-relu-conv-bn plus the shortcut (a strided 1x1 conv-bn when the
// shape changes), then relu.
torch::jit::Module basic_block(Builder& builder, std::int64_t in, std::int64_t out, std::int64_t stride) {
  auto m = builder.module("BasicBlock");
  m.register_module("conv1", builder.conv2d(in, out, 3, stride, 1, false, Init::kaiming_fan_out));
  m.register_module("bn1", builder.batch_norm2d(out));
  m.register_module("conv2", builder.conv2d(out, out, 3, 1, 1, false, Init::kaiming_fan_out));
  m.register_module("bn2", builder.batch_norm2d(out));
  const bool downsample = stride != 1 || in != out;
  if (downsample) {
    m.register_module("down_conv", builder.conv2d(in, out, 1, stride, 0, false, Init::kaiming_fan_out));
    m.register_module("down_bn", builder.batch_norm2d(out));
  }
  m.define(std::string(R"(def forward(self, x):
  out = torch.relu(self.bn1.forward(self.conv1.forward(x)))
  out = self.bn2.forward(self.conv2.forward(out))
)") + (downsample ? "  return torch.relu(out + self.down_bn.forward(self.down_conv.forward(x)))\n" : "  return torch.relu(out + x)\n"));
  return m;
}

// `blocks` basic blocks, the first one changing channels/stride.
torch::jit::Module layer(Builder& builder, std::int64_t in, std::int64_t out, std::int64_t stride, int blocks) {
  auto m = builder.module("ResLayer");
  std::string body = "def forward(self, x):\n";
  for (int i = 0; i < blocks; ++i) {
    const std::string name = "block" + std::to_string(i);
    m.register_module(name, basic_block(builder, i == 0 ? in : out, out, i == 0 ? stride : 1));
    body += "  x = self." + name + ".forward(x)\n";
  }
  m.define(body + "  return x\n");
  return m;
}
}  // namespace

torch::jit::Module resnet_fmnist(Builder& builder) {
  auto m = builder.module("ResNetFmnist");
  m.register_module("conv1", builder.conv2d(1, 16, 3, 1, 1, false, Init::kaiming_fan_out));
  m.register_module("bn1", builder.batch_norm2d(16));
  m.register_module("layer1", layer(builder, 16, 16, 1, 2));
  m.register_module("layer2", layer(builder, 16, 32, 2, 2));
  m.register_module("layer3", layer(builder, 32, 64, 2, 2));
  m.register_module("fc", builder.linear(64, 10));
  m.define(R"(def forward(self, x):
  x = torch.relu(self.bn1.forward(self.conv1.forward(x)))
  x = self.layer3.forward(self.layer2.forward(self.layer1.forward(x)))
  x = torch.flatten(torch.adaptive_avg_pool2d(x, [1, 1]), 1)
  return self.fc.forward(x)
)");
  return m;
}

torch::jit::Module resnet18(Builder& builder) {
  auto m = builder.module("ResNet18");
  m.register_module("conv1", builder.conv2d(3, 64, 7, 2, 3, false, Init::kaiming_fan_out));
  m.register_module("bn1", builder.batch_norm2d(64));
  m.register_module("layer1", layer(builder, 64, 64, 1, 2));
  m.register_module("layer2", layer(builder, 64, 128, 2, 2));
  m.register_module("layer3", layer(builder, 128, 256, 2, 2));
  m.register_module("layer4", layer(builder, 256, 512, 2, 2));
  m.register_module("fc", builder.linear(512, 1000));
  m.define(R"(def forward(self, x):
  x = torch.relu(self.bn1.forward(self.conv1.forward(x)))
  x = torch.max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], False)
  x = self.layer4.forward(self.layer3.forward(self.layer2.forward(self.layer1.forward(x))))
  x = torch.flatten(torch.adaptive_avg_pool2d(x, [1, 1]), 1)
  return self.fc.forward(x)
)");
  return m;
}

}  // namespace idunno::ml::zoo
