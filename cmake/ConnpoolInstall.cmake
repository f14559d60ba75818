# install() rules and a CMake package config, so a user's project can find_package(connpool).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(connpool_targets GLOBAL PROPERTY CONNPOOL_EXPORTED_TARGETS)
install(TARGETS ${connpool_targets} EXPORT connpoolTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/connpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT connpoolTargets NAMESPACE connpool:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/connpool)
configure_package_config_file(cmake/connpoolConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/connpoolConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/connpool)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/connpoolConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/connpoolConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/connpoolConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/connpool)
