# Run at the end of `cmake --install`: fails loudly when the installed tree is
# incomplete. Every header under include/nabla may include (as "nabla/..." or
# <nabla/...>) only headers installed beside it, and no LLVM header (LLVM is
# private to the library); the libraries, the tools and the CMake package
# must be there.
set(prefix "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(problems "")
file(GLOB_RECURSE headers RELATIVE ${prefix}/${NABLA_INCLUDEDIR}
     ${prefix}/${NABLA_INCLUDEDIR}/nabla/*.h ${prefix}/${NABLA_INCLUDEDIR}/nabla/*.def
     ${prefix}/${NABLA_INCLUDEDIR}/nabla/*.inc)
if(NOT headers)
  string(APPEND problems "\n  no header under ${NABLA_INCLUDEDIR}/nabla")
endif()
foreach(h ${headers})
  file(STRINGS ${prefix}/${NABLA_INCLUDEDIR}/${h} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](nabla|llvm)/")
  foreach(line ${includes})
    string(REGEX REPLACE "^[^<\"]*[<\"]([^>\"]+)[>\"].*" "\\1" included "${line}")
    if(included MATCHES "^llvm/")
      string(APPEND problems "\n  ${h} includes ${included} (LLVM is private to nabla)")
    elseif(NOT EXISTS ${prefix}/${NABLA_INCLUDEDIR}/${included})
      string(APPEND problems "\n  ${h} includes ${included}, which is not installed")
    endif()
  endforeach()
endforeach()
foreach(lib ${NABLA_INSTALLED_LIBS})
  if(NOT EXISTS ${prefix}/${NABLA_LIBDIR}/lib${lib}.a)
    string(APPEND problems "\n  ${NABLA_LIBDIR}/lib${lib}.a is missing")
  endif()
endforeach()
foreach(tool ${NABLA_INSTALLED_TOOLS})
  if(NOT EXISTS ${prefix}/${NABLA_BINDIR}/${tool})
    string(APPEND problems "\n  ${NABLA_BINDIR}/${tool} is missing")
  endif()
endforeach()
foreach(f nablaConfig.cmake nablaConfigVersion.cmake nablaTargets.cmake nablaObject.cmake)
  if(NOT EXISTS ${prefix}/${NABLA_CONFIG_DIR}/${f})
    string(APPEND problems "\n  ${NABLA_CONFIG_DIR}/${f} is missing")
  endif()
endforeach()
if(problems)
  message(FATAL_ERROR "nabla: the installed tree under ${prefix} is incomplete:${problems}\n"
          "(a header a public header includes belongs in its layer's HEADERS, see nabla_layer)")
endif()
message(STATUS "nabla: checked the installed tree under ${prefix} (${CMAKE_INSTALL_PREFIX})")
