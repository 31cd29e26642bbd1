// The module inference runs (model_impl.hpp: serving_module): a clone of a
// model's module, sharing its weights, whose forward is inlined and has
// every aten::max_pool2d replaced by idunno::max_pool2d.
//
// Why: LibTorch's max_pool2d on NCHW input is a scalar loop with a
// data-dependent branch per element that also writes an index per output.
// For small windows the same result comes from element-wise maximums of
// strided views, which vectorise: by hand with python3-torch on one thread,
// 2x2/stride 2 on LeNet's 64x6x24x24 activations 1.22 ms -> 0.06 ms,
// ResNet-18's 3x3/stride 2/padding 1 stem on 8x64x112x112 40.7 ms -> 10.0 ms,
// equal results. The operator checks its arguments at every call and hands
// everything else to aten::max_pool2d unchanged: windows above 4x4 or of one
// row or column, dilation, ceil_mode, channels-last input (which has a
// vectorised kernel of its own), types other than float, double and
// bfloat16, tensors that are not dense CPU ones and any call that autograd
// records.
//
// The values are those of max_pool2d: the largest of each window, NaN if
// the window has one; padding never wins (a window always holds at least one
// element of the input, as max_pool2d requires padding <= kernel / 2). Of
// two equal zeros of opposite sign either may come out.
//
// The rewrite works on the clone's own copy of forward (Module::clone gives
// the clone new class types), so the original module, which training
// mutates and save() writes, keeps its graph: a saved model never names our
// operator.
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/library.h>

#include <atomic>
#include <limits>
#include <optional>

#include "ml/model_impl.hpp"

namespace idunno::ml {

namespace {

constexpr std::int64_t kMaxFastWindow = 4;

std::atomic<std::uint64_t> fast_pool_calls_total{0};

struct Window {
  std::int64_t kh, kw, sh, sw, ph, pw;
};

// One value per spatial dimension from a max_pool2d argument of one or two
// entries; an empty stride means the kernel's.
std::optional<std::pair<std::int64_t, std::int64_t>> pair_of(c10::IntArrayRef v) {
  if (v.size() == 1) return std::make_pair(v[0], v[0]);
  if (v.size() == 2) return std::make_pair(v[0], v[1]);
  return std::nullopt;
}

// The window when the maximums compute this call exactly and faster.
std::optional<Window> fast_window(const at::Tensor& x, c10::IntArrayRef kernel, c10::IntArrayRef stride,
                                  c10::IntArrayRef padding, c10::IntArrayRef dilation, bool ceil_mode) {
  // Dense CPU tensors only (is_contiguous throws for MKLDNN ones), of the
  // types LibTorch's CPU kernel takes.
  if (x.layout() != at::kStrided || !x.device().is_cpu() || x.is_quantized()) return std::nullopt;
  const auto type = x.scalar_type();
  if (type != at::kFloat && type != at::kDouble && type != at::kBFloat16) return std::nullopt;
  if (ceil_mode || (x.dim() != 3 && x.dim() != 4) || !x.is_contiguous() || x.numel() == 0) return std::nullopt;
  if (at::GradMode::is_enabled() && x.requires_grad()) return std::nullopt;
  const auto k = pair_of(kernel);
  const auto s = stride.empty() ? k : pair_of(stride);
  const auto p = pair_of(padding);
  const auto d = pair_of(dilation);
  if (!k || !s || !p || !d || d->first != 1 || d->second != 1) return std::nullopt;
  const Window w{k->first, k->second, s->first, s->second, p->first, p->second};
  if (w.kh < 2 || w.kw < 2 || w.kh > kMaxFastWindow || w.kw > kMaxFastWindow) return std::nullopt;
  if (w.sh < 1 || w.sw < 1 || w.ph < 0 || w.pw < 0 || w.ph > w.kh / 2 || w.pw > w.kw / 2) return std::nullopt;
  if (x.size(-2) + 2 * w.ph < w.kh || x.size(-1) + 2 * w.pw < w.kw) return std::nullopt;
  return w;
}

// The maximum over offsets 0..k-1 of the views x[o : o + s*(n-1) + 1 : s]
// along `dim`, n = (size - k) / s + 1 outputs.
at::Tensor max_of_strided_views(const at::Tensor& x, std::int64_t dim, std::int64_t k, std::int64_t s) {
  const std::int64_t span = s * ((x.size(dim) - k) / s) + 1;
  at::Tensor out = x.slice(dim, 0, span, s);
  for (std::int64_t o = 1; o < k; ++o) out = at::maximum(out, x.slice(dim, o, o + span, s));
  return out;  // a new tensor: k >= 2
}

at::Tensor max_pool2d(const at::Tensor& x, c10::IntArrayRef kernel, c10::IntArrayRef stride, c10::IntArrayRef padding,
                      c10::IntArrayRef dilation, bool ceil_mode) {
  const auto w = fast_window(x, kernel, stride, padding, dilation, ceil_mode);
  if (!w) return at::max_pool2d(x, kernel, stride, padding, dilation, ceil_mode);
  fast_pool_calls_total.fetch_add(1, std::memory_order_relaxed);
  const at::Tensor in = w->ph > 0 || w->pw > 0 ? at::constant_pad_nd(x, {w->pw, w->pw, w->ph, w->ph},
                                                                     -std::numeric_limits<double>::infinity())
                                               : x;
  return max_of_strided_views(max_of_strided_views(in, -2, w->kh, w->sh), -1, w->kw, w->sw);
}

TORCH_LIBRARY(idunno, m) {
  m.def(
      "max_pool2d(Tensor self, int[] kernel_size, int[] stride, int[] padding, int[] dilation, bool ceil_mode) -> "
      "Tensor",
      &max_pool2d);
}

// Replaces the max_pool2d calls of `block` and of the blocks nested in it;
// returns how many.
std::size_t replace_max_pools(torch::jit::Block* block) {
  std::size_t replaced = 0;
  static const auto ours = c10::Symbol::fromQualString("idunno::max_pool2d");
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* node = *it;
    ++it;
    for (torch::jit::Block* inner : node->blocks()) replaced += replace_max_pools(inner);
    if (node->kind() != c10::aten::max_pool2d || node->inputs().size() != 6 || node->outputs().size() != 1) continue;
    torch::jit::Node* replacement = block->owningGraph()->create(ours, node->inputs(), 1);
    replacement->insertBefore(node);
    replacement->copyMetadata(node);  // the TorchScript source range of errors
    replacement->output()->setType(node->output()->type());
    node->output()->replaceAllUsesWith(replacement->output());
    node->destroy();
    ++replaced;
  }
  return replaced;
}

}  // namespace

std::uint64_t fast_pool_calls() { return fast_pool_calls_total.load(std::memory_order_relaxed); }

ServingModule serving_module(const torch::jit::Module& module) {
  ServingModule served{module.clone(/*inplace=*/true), 0};
  served.module.eval();
  const auto graph = served.module.get_method("forward").graph();
  torch::jit::Inline(*graph);
  served.fast_pools = replace_max_pools(graph->block());
  return served;
}

}  // namespace idunno::ml
