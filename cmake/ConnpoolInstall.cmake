# What `cmake --install` puts where, in two components that become the two Debian packages
# (cmake/ConnpoolPackage.cmake): `dev` (libconnpool-dev: static libraries, headers, the CMake
# package and the pkg-config files) and `cli` (connpool: the program, the example configuration,
# the Grafana dashboard and the deploy files under share/connpool).
#
# The libraries are static (connpool_library() in ConnpoolTargets.cmake): a consumer links
# their dependencies too, which connpoolConfig.cmake finds and the .pc files list in
# Requires.private / Libs.private.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(connpool_targets GLOBAL PROPERTY CONNPOOL_EXPORTED_TARGETS)
install(TARGETS ${connpool_targets} EXPORT connpoolTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/connpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(EXPORT connpoolTargets NAMESPACE connpool:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/connpool
  COMPONENT dev)

# The components a consumer may ask for: the libraries this build made.
set(CONNPOOL_COMPONENTS)
foreach(target IN LISTS connpool_targets)
  if(target MATCHES "^connpool_(core|redis|firestore|monitor|config|defaults|proxy|service)$")
    list(APPEND CONNPOOL_COMPONENTS ${CMAKE_MATCH_1})
  endif()
endforeach()
set(CONNPOOL_WITH_FIRESTORE_BUILT OFF)
if(TARGET connpool::firestore)
  set(CONNPOOL_WITH_FIRESTORE_BUILT ON)
endif()
configure_package_config_file(cmake/connpoolConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/connpoolConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/connpool)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/connpoolConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/connpoolConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/connpoolConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/connpool COMPONENT dev)

include(${PROJECT_SOURCE_DIR}/cmake/ConnpoolPkgConfig.cmake)

# The CLI's companions: what `connpool serve` needs to be deployed.
if(TARGET connpool)
  install(FILES config/example.yaml DESTINATION ${CMAKE_INSTALL_DATADIR}/connpool COMPONENT cli)
  install(FILES deploy/prometheus.yml DESTINATION ${CMAKE_INSTALL_DATADIR}/connpool/deploy
    COMPONENT cli)
  install(DIRECTORY deploy/grafana deploy/systemd DESTINATION ${CMAKE_INSTALL_DATADIR}/connpool/deploy
    COMPONENT cli)
  install(FILES README.md CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT cli)
endif()

include(${PROJECT_SOURCE_DIR}/cmake/ConnpoolPackage.cmake)
