# Firestore v1 protos -> static library `connpool_firestore_proto`.
#
# Why this way: Google publishes no C++ Firestore client, but the official Node.js client ships the
# exact .proto files its gRPC stubs are built from. At configure time we take them from the pinned
# npm package (cached in the build tree: a re-configure never downloads again), and at build time
# generate C++ with Debian's protoc + grpc_cpp_plugin. The well-known types come from Debian's
# libprotobuf-dev (-I /usr/include): the tarball's google/protobuf/descriptor.proto is an
# editions-era file protoc 3.21 cannot use, and libprotobuf already contains the WKT code.
# Nothing here is committed; nothing generated goes through connpool_defaults (no -Werror).
#
# Knobs:
#   CONNPOOL_FIRESTORE_NPM_VERSION  pinned @google-cloud/firestore version (default 7.11.6)
#   CONNPOOL_FIRESTORE_PROTO_TARBALL  a local copy of the npm tarball (offline builds)

include_guard(GLOBAL)

find_package(Protobuf REQUIRED)     # FindProtobuf module: Debian ships no protobuf CMake config
find_package(gRPC CONFIG REQUIRED)  # gRPC::grpc++, gRPC::grpc_cpp_plugin

set(CONNPOOL_FIRESTORE_NPM_VERSION "7.11.6" CACHE STRING
    "Version of the npm package @google-cloud/firestore whose .proto files are compiled")
set(CONNPOOL_FIRESTORE_PROTO_TARBALL "" CACHE FILEPATH
    "Use this local google-cloud-firestore-<version>.tgz instead of running npm pack")

set(_fs_cache ${CMAKE_BINARY_DIR}/_deps/firestore-protos/${CONNPOOL_FIRESTORE_NPM_VERSION})
set(_fs_tgz ${_fs_cache}/google-cloud-firestore-${CONNPOOL_FIRESTORE_NPM_VERSION}.tgz)
set(_fs_root ${_fs_cache}/package/build/protos)

# The 15 files the v1 API needs (research/feasibility.md section 1). resource.proto, longrunning,
# admin, v1beta1 and bundle.proto are not imported by these.
set(_fs_protos
    google/api/annotations.proto google/api/client.proto google/api/field_behavior.proto
    google/api/http.proto google/api/launch_stage.proto
    google/rpc/status.proto google/type/latlng.proto
    google/firestore/v1/aggregation_result.proto google/firestore/v1/bloom_filter.proto
    google/firestore/v1/common.proto google/firestore/v1/document.proto
    google/firestore/v1/firestore.proto google/firestore/v1/query.proto
    google/firestore/v1/query_profile.proto google/firestore/v1/write.proto)

if(NOT EXISTS ${_fs_tgz})
  file(MAKE_DIRECTORY ${_fs_cache})
  if(CONNPOOL_FIRESTORE_PROTO_TARBALL)
    file(COPY_FILE ${CONNPOOL_FIRESTORE_PROTO_TARBALL} ${_fs_tgz})
  else()
    find_program(CONNPOOL_NPM_PROGRAM npm)
    if(NOT CONNPOOL_NPM_PROGRAM)
      message(FATAL_ERROR
        "connpool: the Firestore backend needs npm to fetch its .proto files "
        "(npm pack @google-cloud/firestore@${CONNPOOL_FIRESTORE_NPM_VERSION}).\n"
        "Fix one of:\n"
        "  - install Node.js and npm: `sudo apt-get install nodejs npm` (or `make deps`);\n"
        "  - pass -DCONNPOOL_FIRESTORE_PROTO_TARBALL=/path/to/google-cloud-firestore-"
        "${CONNPOOL_FIRESTORE_NPM_VERSION}.tgz;\n"
        "  - build without Firestore: -DCONNPOOL_WITH_FIRESTORE=OFF.")
    endif()
    message(STATUS "connpool: npm pack @google-cloud/firestore@${CONNPOOL_FIRESTORE_NPM_VERSION}")
    execute_process(
      COMMAND ${CONNPOOL_NPM_PROGRAM} pack --silent
              @google-cloud/firestore@${CONNPOOL_FIRESTORE_NPM_VERSION}
      WORKING_DIRECTORY ${_fs_cache}
      RESULT_VARIABLE _fs_rc OUTPUT_VARIABLE _fs_out ERROR_VARIABLE _fs_err)
    if(NOT _fs_rc EQUAL 0 OR NOT EXISTS ${_fs_tgz})
      message(FATAL_ERROR
        "connpool: `npm pack @google-cloud/firestore@${CONNPOOL_FIRESTORE_NPM_VERSION}` failed "
        "(rc=${_fs_rc}):\n${_fs_err}\nCheck network access to the npm registry, or pass "
        "-DCONNPOOL_FIRESTORE_PROTO_TARBALL=<local tarball>, or -DCONNPOOL_WITH_FIRESTORE=OFF.")
    endif()
  endif()
endif()

# The tarball's checksum, pinned per version we have checked, so a changed upstream artifact fails
# loudly instead of compiling different protos.
set(_fs_sha256_7.11.6 a0054c2fa0c757cbc7df6e5ffdee7b4bc887e2c1808a099cac8ed9f3efecf6bc)
if(DEFINED _fs_sha256_${CONNPOOL_FIRESTORE_NPM_VERSION})
  file(SHA256 ${_fs_tgz} _fs_sha)
  if(NOT _fs_sha STREQUAL _fs_sha256_${CONNPOOL_FIRESTORE_NPM_VERSION})
    file(REMOVE ${_fs_tgz})
    message(FATAL_ERROR "connpool: ${_fs_tgz} has SHA-256 ${_fs_sha}, expected "
                        "${_fs_sha256_${CONNPOOL_FIRESTORE_NPM_VERSION}}; removed it, re-configure.")
  endif()
endif()

# Extract only the protos we compile; never the tarball's google/protobuf/ WKTs.
set(_fs_missing FALSE)
foreach(p IN LISTS _fs_protos)
  if(NOT EXISTS ${_fs_root}/${p})
    set(_fs_missing TRUE)
  endif()
endforeach()
if(_fs_missing)
  file(ARCHIVE_EXTRACT INPUT ${_fs_tgz} DESTINATION ${_fs_cache}
       PATTERNS package/build/protos/google/api package/build/protos/google/rpc
                package/build/protos/google/type package/build/protos/google/firestore/v1)
  foreach(p IN LISTS _fs_protos)
    if(NOT EXISTS ${_fs_root}/${p})
      message(FATAL_ERROR "connpool: ${p} is missing from ${_fs_tgz}; delete ${_fs_cache} and "
                          "re-configure, or check CONNPOOL_FIRESTORE_NPM_VERSION.")
    endif()
  endforeach()
endif()

set(_fs_gen ${CMAKE_BINARY_DIR}/generated/firestore)
set(_fs_srcs)
set(_fs_hdrs)
foreach(p IN LISTS _fs_protos)
  string(REGEX REPLACE "\\.proto$" "" _base ${p})
  list(APPEND _fs_srcs ${_fs_gen}/${_base}.pb.cc)
  list(APPEND _fs_hdrs ${_fs_gen}/${_base}.pb.h)
endforeach()
list(APPEND _fs_srcs ${_fs_gen}/google/firestore/v1/firestore.grpc.pb.cc)
list(APPEND _fs_hdrs ${_fs_gen}/google/firestore/v1/firestore.grpc.pb.h)
list(TRANSFORM _fs_protos PREPEND ${_fs_root}/ OUTPUT_VARIABLE _fs_abs)

add_custom_command(
  OUTPUT ${_fs_srcs} ${_fs_hdrs}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_fs_gen}
  COMMAND protobuf::protoc -I ${_fs_root} -I ${Protobuf_INCLUDE_DIRS} --cpp_out=${_fs_gen}
          ${_fs_protos}
  COMMAND protobuf::protoc -I ${_fs_root} -I ${Protobuf_INCLUDE_DIRS} --grpc_out=${_fs_gen}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
          google/firestore/v1/firestore.proto
  WORKING_DIRECTORY ${_fs_root}
  DEPENDS ${_fs_abs}
  COMMENT "protoc: Firestore v1 (@google-cloud/firestore ${CONNPOOL_FIRESTORE_NPM_VERSION})"
  VERBATIM)

add_library(connpool_firestore_proto STATIC ${_fs_srcs})
set_target_properties(connpool_firestore_proto PROPERTIES POSITION_INDEPENDENT_CODE ON
                                                          EXPORT_NAME firestore_proto)
# Generated code: warnings are Google's business, not ours.
target_compile_options(connpool_firestore_proto PRIVATE -w)
target_include_directories(connpool_firestore_proto SYSTEM PUBLIC $<BUILD_INTERFACE:${_fs_gen}>)
target_link_libraries(connpool_firestore_proto PUBLIC gRPC::grpc++ protobuf::libprotobuf)
# connpool_firestore links it privately; a static library's private deps must still be installed.
set_property(GLOBAL APPEND PROPERTY CONNPOOL_EXPORTED_TARGETS connpool_firestore_proto)
