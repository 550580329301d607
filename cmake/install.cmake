# The install rules beyond the layers' own (nabla_layer) and the tools':
# nabla::nabla, the CMake package, and a final check of the installed tree.
include(CMakePackageConfigHelpers)
install(TARGETS nabla EXPORT nablaTargets)
set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/nabla)
install(EXPORT nablaTargets NAMESPACE nabla:: DESTINATION ${config_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/nablaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nablaConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nablaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nablaConfig.cmake ${PROJECT_BINARY_DIR}/nablaConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/nablaObject.cmake
        DESTINATION ${config_dir})
# Last (install rules run in the order they are declared): every installed
# header's nabla includes must be installed too, and none may need LLVM.
install(CODE "set(NABLA_INSTALLED_LIBS nabla_runtime nabla_ir nabla_passes nabla_compiler)
set(NABLA_INSTALLED_TOOLS nablac nabla-opt nabla-run)
set(NABLA_CONFIG_DIR \"${config_dir}\")
set(NABLA_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
set(NABLA_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(NABLA_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
include(\"${CMAKE_CURRENT_LIST_DIR}/check_install.cmake\")")
