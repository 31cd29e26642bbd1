#pragma once
// IDunno's metadata inside a TorchScript archive (an extra file, ignored by
// torch.jit.load in Python): the input shape, class count and normalisation,
// as "key=value" lines. Plain text so that a user can add it by hand with
// torch.jit.save(m, f, _extra_files={"idunno_model.txt": "input=1,28,28\n"}).

#include <string>

#include "ml/base/model_info.hpp"

namespace idunno::ml {

// The archive entry name.
inline constexpr const char* kModelMetaFile = "idunno_model.txt";

std::string encode_model_meta(const ModelInfo& info);

// What a metadata entry says; absent keys stay unset (0 / empty).
struct ModelMeta {
  ImageShape input;
  std::int64_t classes = 0;
  Normalization normalization;
  bool has_normalization = false;
};

// Throws ModelError naming `what` when a line is malformed or a key unknown.
ModelMeta decode_model_meta(const std::string& text, const std::string& what);

}  // namespace idunno::ml
