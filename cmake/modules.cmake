# idunno_module(NAME DIR ... ) builds one library from DIR/*.cpp (not
# *_test.cpp, not main_*.cpp), generates C++ from DIR/*.proto, and one GoogleTest binary
# NAME_tests from DIR/*_test.cpp. Files are globbed so that adding a file
# needs no CMake edit.
function(idunno_module name)
  cmake_parse_arguments(M "" "" "DEPS;TEST_DEPS" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/*.cpp)
  file(GLOB tests CONFIGURE_DEPENDS ${dir}/*_test.cpp)
  file(GLOB protos CONFIGURE_DEPENDS ${dir}/*.proto)
  file(GLOB mains CONFIGURE_DEPENDS ${dir}/main_*.cpp)
  if(tests OR mains)
    list(REMOVE_ITEM srcs ${tests} ${mains})
  endif()
  if(NOT srcs AND NOT protos)
    # A module with no sources yet is a header-only interface.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(${name} INTERFACE ${M_DEPS})
    return()
  endif()
  # Protos compile with src/ as the root, so src/net/x.proto becomes
  # gen/net/x.pb.{h,cc}: code includes "net/x.pb.h" and protos import each
  # other by src-relative path. (CMake's protobuf_generate would flatten the
  # output to gen/x.pb.*.)
  set(generated)
  if(protos)
    file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/src ${dir})
    set(out_dir ${CMAKE_BINARY_DIR}/gen/${rel})
    file(MAKE_DIRECTORY ${out_dir})
    foreach(proto ${protos})
      get_filename_component(base ${proto} NAME_WE)
      set(out ${out_dir}/${base}.pb.cc ${out_dir}/${base}.pb.h)
      add_custom_command(
        OUTPUT ${out}
        COMMAND protobuf::protoc --cpp_out ${CMAKE_BINARY_DIR}/gen -I ${CMAKE_SOURCE_DIR}/src ${proto}
        DEPENDS ${proto} protobuf::protoc
        COMMENT "protoc ${rel}/${base}.proto"
        VERBATIM)
      list(APPEND generated ${out})
    endforeach()
    # Generated code is not ours: no warnings from it.
    set_source_files_properties(${generated} PROPERTIES GENERATED TRUE COMPILE_OPTIONS -w)
  endif()
  add_library(${name} STATIC ${srcs} ${generated})
  if(protos)
    target_include_directories(${name} SYSTEM PUBLIC ${CMAKE_BINARY_DIR}/gen)
    target_link_libraries(${name} PUBLIC protobuf::libprotobuf)
  endif()
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${M_DEPS})
  idunno_target_warnings(${name})
  if(tests)
    add_executable(${name}_tests ${tests})
    target_link_libraries(${name}_tests PRIVATE ${name} ${M_TEST_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
    idunno_target_warnings(${name}_tests)
    gtest_discover_tests(${name}_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
  endif()
endfunction()
