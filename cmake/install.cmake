# cmake --install: the CLI, the library and its headers, the shipped bundles, the bundle export
# script, a CMake package (find_package(igx CONFIG) -> igx::igx) and a pkg-config file; cpack:
# a Debian package of all of it (docs/install.md).
include(CMakePackageConfigHelpers)

install(TARGETS igx_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS igx igx_util EXPORT igxTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/igx DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/spam-transformer ${PROJECT_SOURCE_DIR}/models/mnist-cnn
        DESTINATION ${IGX_INSTALL_MODELS_DIR})
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/export_bundle.py DESTINATION ${CMAKE_INSTALL_DATADIR}/igx/scripts)
install(FILES ${PROJECT_SOURCE_DIR}/models/wordpiece.py ${PROJECT_SOURCE_DIR}/models/hf_bert.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/igx/scripts)

set(IGX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/igx)
install(EXPORT igxTargets NAMESPACE igx:: DESTINATION ${IGX_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/igxConfig.cmake.in ${PROJECT_BINARY_DIR}/igxConfig.cmake
  INSTALL_DESTINATION ${IGX_CMAKE_DIR} PATH_VARS IGX_INSTALL_MODELS_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/igxConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/igxConfig.cmake ${PROJECT_BINARY_DIR}/igxConfigVersion.cmake
        DESTINATION ${IGX_CMAKE_DIR})

# pkg-config: LibTorch has no .pc file, so its flags are written out; the prefix is found from
# the .pc file's own folder, so a relocated tree (an unpacked package) works too.
set(IGX_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH IGX_PC_PREFIX_FROM_PCFILEDIR /${IGX_PKGCONFIG_DIR} /)
get_filename_component(IGX_TORCH_LIBRARY_DIR "${c10_LIBRARY}" DIRECTORY)
set(IGX_PC_TORCH_CFLAGS "${TORCH_CXX_FLAGS}")
foreach(directory ${TORCH_INCLUDE_DIRS})
  string(APPEND IGX_PC_TORCH_CFLAGS " -I${directory}")
endforeach()
set(IGX_PC_TORCH_LIBS "-L${IGX_TORCH_LIBRARY_DIR} -ltorch -ltorch_cpu -lc10")
configure_file(${PROJECT_SOURCE_DIR}/cmake/igx.pc.in ${PROJECT_BINARY_DIR}/igx.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/igx.pc DESTINATION ${IGX_PKGCONFIG_DIR})

# cpack -G DEB: igx_<version>_amd64.deb, depending on Debian's LibTorch (dpkg-shlibdeps finds
# libtorch1.13 from the CLI's libraries). Installs under /usr: the CLI finds its bundles in
# ../share/igx/models beside its bin/.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME igx)
set(CPACK_PACKAGE_VENDOR igx)
set(CPACK_PACKAGE_CONTACT "igx developers <igx@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Integrated Gradients explanations with a measured error (CLI, C++ library, models)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Building against the installed headers needs LibTorch's and nlohmann_json's headers too.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libtorch-dev, nlohmann-json3-dev")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch")
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
include(CPack)
