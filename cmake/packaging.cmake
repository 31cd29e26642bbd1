# Install rules and the Debian package (CPack, DEB generator):
# scripts/package.sh runs cpack in build/ and gets
# build/idunno_VERSION_ARCH.deb. Layout (prefix /usr):
#   bin/idunno-node, bin/idunno, bin/idunno-train-worker
#   lib/idunno/idunno-ml.so    the ML engine the node dlopens: the loader
#                              looks beside the binary and in ../lib/idunno
#                              (ml/engine/engine_loader.cpp)
#   share/idunno/web/index.html  the dashboard page, read at start
#                              (cli/console_service.cpp)
#   lib/systemd/system/idunno-node.service, /etc/idunno/config.toml (a
#   conffile), share/doc/idunno/ (README.md, config.toml with every key)
# Binaries are stripped in the package; runtime dependencies come from
# dpkg-shlibdeps.
include(GNUInstallDirs)

install(TARGETS idunno-node idunno RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET idunno-train-worker)
  install(TARGETS idunno-train-worker RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET idunno_ml_module)
  # Not the multiarch libdir: the loader looks in BINDIR/../lib/idunno.
  install(TARGETS idunno_ml_module LIBRARY DESTINATION lib/idunno)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/web/index.html DESTINATION ${CMAKE_INSTALL_DATADIR}/idunno/web)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/idunno-node.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/config.toml DESTINATION /etc/idunno)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/config.toml
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME idunno)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "IDunno")
set(IDUNNO_PACKAGE_MAINTAINER "IDunno maintainers <idunno@localhost>" CACHE STRING
  "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT "${IDUNNO_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed machine-learning cluster node and client")
set(CPACK_PACKAGE_DESCRIPTION
  "Every machine runs one idunno-node: SWIM membership over UDP, a Raft\n\
coordinator, SDFS (a replicated, versioned file system) and LibTorch\n\
training and inference. idunno is the command-line client.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts create the idunno user (adduser) and enable the
# unit (deb-systemd-helper, from init-system-helpers).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers")
# LibTorch links libblas.so.3, which Debian's reference BLAS provides unless
# an optimised one is installed: OpenBLAS runs lenet 1.8-2.5x faster. The
# OpenMP build shares LibTorch's OpenMP runtime (the pthread one would start
# a thread team of its own beside it).
if(IDUNNO_BUILD_ML)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/conffiles
  ${CMAKE_SOURCE_DIR}/packaging/postinst
  ${CMAKE_SOURCE_DIR}/packaging/prerm
  ${CMAKE_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
