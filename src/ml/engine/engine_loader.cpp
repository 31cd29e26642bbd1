#include "ml/engine/engine_loader.hpp"

#include <dlfcn.h>
#include <link.h>

#include <string_view>
#include <mutex>
#include <system_error>

namespace idunno::ml {

namespace fs = std::filesystem;

namespace {

constexpr const char* kModuleName = "idunno-ml.so";

fs::path executable_dir() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}

// One handle per process, kept for its whole life.
struct OpenModule {
  void* handle = nullptr;
  std::string path;
};

OpenModule& open_module() {
  static OpenModule module;
  return module;
}

struct LibrarySearch {
  std::string_view prefix;
  fs::path found;
};

int find_library(dl_phdr_info* info, std::size_t /*size*/, void* search) {
  auto& wanted = *static_cast<LibrarySearch*>(search);
  if (info->dlpi_name == nullptr) return 0;
  const fs::path name(info->dlpi_name);
  if (!name.filename().string().starts_with(wanted.prefix)) return 0;
  wanted.found = name;
  return 1;
}

// The first shared object loaded in this process whose file name starts
// with `prefix`, as it was loaded (links not resolved), or empty.
fs::path loaded_library(std::string_view prefix) {
  LibrarySearch search{prefix, {}};
  dl_iterate_phdr(find_library, &search);
  return search.found;
}

}  // namespace

bool engine_built() {
#ifdef IDUNNO_WITH_ML
  return true;
#else
  return false;
#endif
}

std::vector<fs::path> default_module_paths() {
  const fs::path dir = executable_dir();
  return {dir / kModuleName, (dir / ".." / "lib" / "idunno" / kModuleName).lexically_normal()};
}

bool torch_loaded() { return !loaded_library("libtorch_cpu").empty(); }

fs::path loaded_blas() {
  const fs::path found = loaded_library("libblas.so");
  if (found.empty()) return found;
  std::error_code ec;
  auto resolved = fs::canonical(found, ec);
  return ec ? found : resolved;
}

bool is_reference_blas(const fs::path& blas) {
  // Debian installs the reference implementation as .../blas/libblas.so.3
  // and every optimised one in a directory of its own name
  // (openblas-openmp/, blis-pthread/, ...).
  return blas.parent_path().filename() == "blas" && blas.filename().string().starts_with("libblas.so");
}

EngineLoad load_engine(const EngineRequest& request, const std::vector<fs::path>& candidates) {
  EngineLoad out;
  if (!engine_built()) {
    out.problem = "this node was built without the ML engine (-DIDUNNO_BUILD_ML=OFF); rebuild with ML to run models";
    return out;
  }
  if (request.pool == nullptr) {
    out.problem = "no ML thread pool given to the ML engine";
    return out;
  }
  std::string tried;
  std::string found;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (fs::exists(candidate, ec)) {
      found = candidate.string();
      break;
    }
    tried += (tried.empty() ? "" : ", ") + candidate.string();
  }
  if (found.empty()) {
    out.problem = "the ML engine module (" + std::string(kModuleName) + ") is missing; looked at " + tried +
                  "; install it beside idunno-node";
    return out;
  }
  OpenModule& module = open_module();
  if (module.handle != nullptr && module.path != found) {
    out.problem = "another ML engine module (" + module.path + ") is already loaded in this process";
    return out;
  }
  if (module.handle == nullptr) {
    void* handle = ::dlopen(found.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      out.problem = "cannot load the ML engine " + found + ": " + (why ? why : "unknown error");
      return out;
    }
    module.handle = handle;
    module.path = found;
  }
  auto abi = reinterpret_cast<EngineAbiFn>(::dlsym(module.handle, kEngineAbiSymbol));
  auto create = reinterpret_cast<CreateEngineFn>(::dlsym(module.handle, kCreateEngineSymbol));
  if (abi == nullptr || create == nullptr) {
    out.problem = "the ML engine " + module.path + " is not an IDunno engine module (no " + kCreateEngineSymbol + ")";
    return out;
  }
  if (abi() != engine_abi()) {
    out.problem = "the ML engine " + module.path + " is from another build (interface " + std::to_string(abi()) +
                  ", this binary expects " + std::to_string(engine_abi()) + "); rebuild both";
    return out;
  }
  std::string error;
  out.engine.reset(create(&request, &error));
  if (!out.engine) out.problem = "the ML engine could not start: " + error;
  return out;
}

}  // namespace idunno::ml
