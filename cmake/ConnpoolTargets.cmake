# Shared settings for connpool's own targets: warnings as errors and sanitizers. Third-party and
# generated code does not go through this function, so their warnings never break our build.

set(CONNPOOL_SANITIZE_FLAGS "")
if(CONNPOOL_SANITIZE)
  set(CONNPOOL_SANITIZE_FLAGS -fsanitize=${CONNPOOL_SANITIZE} -fno-omit-frame-pointer -g)
  if(CONNPOOL_SANITIZE MATCHES "undefined")
    list(APPEND CONNPOOL_SANITIZE_FLAGS -fno-sanitize-recover=undefined)
  endif()
  # Every object in the program must be instrumented alike for TSan to be sound, so the flags
  # go on all targets of this build, not only ours.
  add_compile_options(${CONNPOOL_SANITIZE_FLAGS})
  if(CONNPOOL_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 warns that TSan does not model the fences in Asio's handler invocation; Asio's
    # scheduler mutex already orders handler execution, so the warning is noise for us.
    add_compile_options(-Wno-tsan)
  endif()
  if(CONNPOOL_SANITIZE MATCHES "address")
    # -O1 and line tables only: what ASan's authors recommend, and 1.5x faster to compile than
    # RelWithDebInfo's -O2 -g (53 -> 36 s for one Asio-heavy file), which decides whether the
    # whole suite can be built under ASan on a 2-core machine. Stack traces keep file and line.
    # (TSan keeps -O2 -g: its tree is the one `make test` builds, warm in ccache.)
    add_compile_options(-O1 -g1)
  endif()
  add_link_options(${CONNPOOL_SANITIZE_FLAGS})
endif()

function(connpool_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Known GCC 12 false positives, kept out of -Werror: -Wrestrict on `"literal" + std::string`
    # at -O3 (GCC bug 105651) and -Wmismatched-new-delete on inlined coroutine frames (bug 109224).
    target_compile_options(${target} PRIVATE -Wno-restrict -Wno-mismatched-new-delete)
    if(CONNPOOL_SANITIZE)
      # Sanitizer instrumentation makes GCC 12 report maybe-uninitialized on moved-from
      # optionals in coroutine frames that the normal build does not.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
  endif()
  target_compile_definitions(${target} PUBLIC BOOST_ASIO_NO_DEPRECATED)
endfunction()

# connpool_library(name SOURCES ... DEPS ...): a static library exported as connpool::<name>.
function(connpool_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(connpool_${name} STATIC ${ARG_SOURCES})
  add_library(connpool::${name} ALIAS connpool_${name})
  set_target_properties(connpool_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)
  target_include_directories(connpool_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(connpool_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  connpool_defaults(connpool_${name})
  set_property(GLOBAL APPEND PROPERTY CONNPOOL_EXPORTED_TARGETS connpool_${name})
endfunction()
