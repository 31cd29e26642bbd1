#pragma once
// Finds and loads the ML engine module (LibTorch and the executor, built as
// idunno-ml.so beside the binaries) and creates an engine from it.
//
// Why: the node and its tools must start without LibTorch (its static
// initialisers take most of a second) and work without it on a build that
// has none. The module is opened once per process with dlopen and never
// closed (LibTorch does not survive being unloaded). Its undefined symbols
// resolve against the executable first, which exports its own (CMake
// ENABLE_EXPORTS), so header-only Asio's statics (thread call stacks, error
// categories, frame recycling) are the same objects on both sides.
//
// Call from the main thread or the event loop, not concurrently.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ml/engine/engine.hpp"

namespace idunno::ml {

// An engine, or why there is none (a line a user can act on).
struct EngineLoad {
  std::unique_ptr<Engine> engine;
  std::string problem;
};

// True when this build has an ML engine (IDUNNO_BUILD_ML=ON).
bool engine_built();

// Where the module is looked for: beside the running executable, then
// ../lib/idunno/ from it (an installed layout).
std::vector<std::filesystem::path> default_module_paths();

// Loads the first module of `candidates` that exists and creates an engine
// on `request.pool`. Never throws: a missing module, a failed dlopen, an ABI
// mismatch or a failing factory come back as `problem`.
EngineLoad load_engine(const EngineRequest& request,
                       const std::vector<std::filesystem::path>& candidates = default_module_paths());

// Whether LibTorch is loaded in this process now (tests of start-up).
bool torch_loaded();

// The BLAS library loaded in this process (LibTorch's libblas.so.3, with its
// symbolic links resolved: Debian's alternatives choose which one it is), or
// empty when none is loaded.
std::filesystem::path loaded_blas();

// Whether `blas` (a resolved path) is Debian's reference BLAS, which the
// alternatives fall back to when no optimised one is installed. LibTorch's
// small-model work (LeNet's fully connected layers, its convolutions'
// GEMMs) runs 1.8-2.5x slower on it than on OpenBLAS.
bool is_reference_blas(const std::filesystem::path& blas);

}  // namespace idunno::ml
