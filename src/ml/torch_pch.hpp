#pragma once
// Precompiled header of the *_torch.cpp files of idunno_ml (LibTorch costs
// ~25 s per translation unit without it). Never include it by hand.
#include <ATen/ATen.h>
#include <torch/script.h>
