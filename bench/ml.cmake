# ML benchmark targets. Included from the build (root CMakeLists.txt or
# bench/CMakeLists.txt: include(${CMAKE_SOURCE_DIR}/bench/ml.cmake)), or by
# bench/ml.sh on its own until then.
if(TARGET idunno_ml)
  add_executable(idunno-ml-bench ${CMAKE_CURRENT_LIST_DIR}/ml_bench.cpp)
  target_link_libraries(idunno-ml-bench PRIVATE idunno_ml)
  target_compile_definitions(idunno-ml-bench PRIVATE USE_C10D_GLOO)
  target_precompile_headers(idunno-ml-bench REUSE_FROM idunno_ml)
  idunno_target_warnings(idunno-ml-bench)
endif()
