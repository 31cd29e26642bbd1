#pragma once
// Tensor collectives over a ProcessGroup for the engine's *_torch.cpp files
// (ATen types; the Gloo headers stay inside process_group_torch.cpp).

#include <ATen/ATen.h>

#include <vector>

#include "ml/process_group.hpp"

namespace idunno::ml {

// Sums each tensor across ranks, in place (contiguous CPU tensors).
void all_reduce_sum(ProcessGroup& group, std::vector<at::Tensor>& tensors);
// Copies `root`'s tensors into every rank's, in place.
void broadcast(ProcessGroup& group, std::vector<at::Tensor>& tensors, int root);

}  // namespace idunno::ml
