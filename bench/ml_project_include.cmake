# Used by bench/ml.sh while the build does not include bench/ml.cmake yet:
# includes it once the whole source tree has been processed.
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL include ${CMAKE_SOURCE_DIR}/bench/ml.cmake)
