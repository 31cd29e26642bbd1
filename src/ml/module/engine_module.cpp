// The entry points of the ML engine module (idunno-ml.so): the node opens
// it with dlopen once its options are valid (engine_loader.hpp) and creates
// its executor through idunno_ml_create_engine.

#include <exception>
#include <string>

#include "ml/engine/engine.hpp"
#include "ml/executor.hpp"

extern "C" __attribute__((visibility("default"))) int idunno_ml_engine_abi() { return idunno::ml::engine_abi(); }

extern "C" __attribute__((visibility("default"))) idunno::ml::Engine* idunno_ml_create_engine(
    const idunno::ml::EngineRequest* request, std::string* error) {
  try {
    return new idunno::ml::Executor(*request->pool, idunno::ml::executor_options(request->ml));
  } catch (const std::exception& e) {
    if (error != nullptr) *error = e.what();
  } catch (...) {
    if (error != nullptr) *error = "unknown error";
  }
  return nullptr;
}
