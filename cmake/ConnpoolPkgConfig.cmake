# pkg-config files, one per library: connpool-core.pc, connpool-redis.pc, ... in
# <libdir>/pkgconfig. The libraries are static, so what they link privately is listed in
# Requires.private (packages with a .pc) and Libs.private (the rest; Boost has no .pc on Debian,
# and connpool needs only its header-only parts), which `pkg-config --static` adds.
#
# `prefix` is relative to the .pc file itself (${pcfiledir}), so an unpacked or relocated tree
# works as is; `pkg-config --define-prefix` gives the same answer.

set(_pc_depth "")
set(_pc_rel "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
string(REPLACE "/" ";" _pc_parts "${_pc_rel}")
foreach(_part IN LISTS _pc_parts)
  if(_pc_depth STREQUAL "")
    set(_pc_depth "..")
  else()
    string(APPEND _pc_depth "/..")
  endif()
endforeach()

# connpool_pkgconfig(<component> DESCRIPTION ... [REQUIRES ...] [REQUIRES_PRIVATE ...]
#                    [LIBS_PRIVATE ...] [CFLAGS ...])
function(connpool_pkgconfig component)
  cmake_parse_arguments(ARG "" "DESCRIPTION" "REQUIRES;REQUIRES_PRIVATE;LIBS_PRIVATE;CFLAGS" ${ARGN})
  if(NOT TARGET connpool::${component})
    return()
  endif()
  list(JOIN ARG_REQUIRES " " requires)
  list(JOIN ARG_REQUIRES_PRIVATE " " requires_private)
  list(JOIN ARG_LIBS_PRIVATE " " libs_private)
  list(JOIN ARG_CFLAGS " " cflags)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/connpool-${component}.pc)
  file(WRITE ${out}
    "prefix=\${pcfiledir}/${_pc_depth}\n"
    "exec_prefix=\${prefix}\n"
    "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}\n"
    "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\n"
    "\n"
    "Name: connpool-${component}\n"
    "Description: ${ARG_DESCRIPTION} (static library; C++20)\n"
    "Version: ${PROJECT_VERSION}\n"
    "Requires: ${requires}\n"
    "Requires.private: ${requires_private}\n"
    "Cflags: -I\${includedir} ${cflags}\n"
    "Libs: -L\${libdir} -lconnpool_${component}\n"
    "Libs.private: ${libs_private}\n")
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endfunction()

# Keep in step with the connpool_library() calls in src/*/CMakeLists.txt.
connpool_pkgconfig(core DESCRIPTION "connpool: the generic connection pool"
  # connpool_defaults() makes BOOST_ASIO_NO_DEPRECATED a public definition.
  CFLAGS -DBOOST_ASIO_NO_DEPRECATED
  LIBS_PRIVATE -pthread)
connpool_pkgconfig(redis DESCRIPTION "connpool: Redis client, pools, Cluster and Sentinel"
  REQUIRES connpool-core
  REQUIRES_PRIVATE hiredis openssl)
connpool_pkgconfig(firestore DESCRIPTION "connpool: Firestore client over gRPC"
  REQUIRES connpool-core nlohmann_json
  REQUIRES_PRIVATE grpc++ protobuf
  LIBS_PRIVATE -lconnpool_firestore_proto)
connpool_pkgconfig(monitor DESCRIPTION "connpool: Prometheus metrics and the admin HTTP server"
  REQUIRES connpool-core prometheus-cpp-core
  REQUIRES_PRIVATE nlohmann_json)
connpool_pkgconfig(config DESCRIPTION "connpool: YAML + environment configuration"
  REQUIRES connpool-core
  REQUIRES_PRIVATE connpool-redis yaml-cpp nlohmann_json)
# The original helpers' default pools read the configuration; their Firestore half exists when
# the Firestore library was built.
if(TARGET connpool::firestore)
  set(_pc_defaults_requires connpool-config connpool-redis connpool-firestore)
else()
  set(_pc_defaults_requires connpool-config connpool-redis)
endif()
connpool_pkgconfig(defaults DESCRIPTION "connpool: the original helpers on configured default pools"
  REQUIRES ${_pc_defaults_requires})
connpool_pkgconfig(proxy DESCRIPTION "connpool: the Redis-protocol sidecar (connpool proxy)"
  REQUIRES connpool-redis connpool-monitor)
connpool_pkgconfig(service DESCRIPTION "connpool: configuration to running pools, metrics and admin server"
  REQUIRES connpool-config connpool-defaults connpool-redis connpool-proxy connpool-firestore
           connpool-monitor)
