#include "ml/engine/engine_loader.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

namespace idunno::ml {
namespace {

TEST(EngineLoader, TellsDebiansReferenceBlasFromAnOptimisedOne) {
  EXPECT_TRUE(is_reference_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"));
  EXPECT_TRUE(is_reference_blas("/usr/lib/aarch64-linux-gnu/blas/libblas.so.3"));
  EXPECT_FALSE(is_reference_blas("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"));
  EXPECT_FALSE(is_reference_blas("/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3"));
  EXPECT_FALSE(is_reference_blas("/opt/blas/libmkl_rt.so"));
  EXPECT_FALSE(is_reference_blas(""));
}

TEST(EngineLoader, NamesTheBlasThisProcessLoadedWithItsLinksResolved) {
  // This test binary links no BLAS: none until one is opened.
  ASSERT_TRUE(loaded_blas().empty());
  void* blas = ::dlopen("libblas.so.3", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(blas, nullptr) << "libblas.so.3 (a dependency of LibTorch) is not installed";
  const auto path = loaded_blas();
  EXPECT_FALSE(path.empty());
  EXPECT_TRUE(path.is_absolute()) << path;
  EXPECT_FALSE(std::filesystem::is_symlink(path)) << path;
  EXPECT_TRUE(std::filesystem::is_regular_file(path)) << path;
  ::dlclose(blas);
}

}  // namespace
}  // namespace idunno::ml
