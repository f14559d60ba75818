# `make package` (cpack -G DEB in the build tree): two Debian packages from the install
# components of cmake/ConnpoolInstall.cmake.
#   libconnpool-dev  static libraries, headers, CMake package, pkg-config files
#   connpool         the CLI, the example configuration, the Grafana dashboard and the deploy
#                    files (systemd unit, Prometheus job) under /usr/share/connpool
# Depends: the -dev package names the Debian -dev packages a consumer's link needs (the
# libraries are static); the CLI's come from dpkg-shlibdeps (the shared libraries it loads).
set(CPACK_PACKAGE_NAME connpool)
set(CPACK_PACKAGE_VENDOR "connpool")
set(CPACK_PACKAGE_CONTACT "connpool maintainers <connpool@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL dev cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libconnpool-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "connpool: connection pools for Redis and Firestore (C++20, Boost.Asio) - development files\n"
  "Static libraries, headers, CMake package (find_package(connpool)) and pkg-config files\n"
  "(connpool-core, connpool-redis, connpool-firestore, connpool-monitor, connpool-config,\n"
  "connpool-service).")
set(_dev_depends
  libboost1.81-dev libhiredis-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  prometheus-cpp-dev pkgconf)
if(TARGET connpool::firestore)
  list(APPEND _dev_depends libgrpc++-dev libprotobuf-dev)
endif()
list(JOIN _dev_depends ", " CPACK_DEBIAN_DEV_PACKAGE_DEPENDS)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME connpool)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION net)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLI_PACKAGE_SUGGESTS "redis-server, prometheus")
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "connpool: connection pools for Redis and Firestore - command-line tool\n"
  "connpool serve runs the configured pools with Prometheus metrics and an admin API;\n"
  "check, config, bench and demo. Example configuration, Grafana dashboard and a systemd\n"
  "unit are in /usr/share/connpool.")

include(CPack)
