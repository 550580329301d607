# cmake -DSRC=... -DWORK=... -P check_install_test.cmake
# The check at the end of `cmake --install` (cmake/check_install.cmake) fails,
# naming each problem, on a tree with a header that includes one not
# installed, a header that includes LLVM, and a missing tool.
file(REMOVE_RECURSE ${WORK})
file(WRITE ${WORK}/include/nabla/ir/a.h "#pragma once\n#include \"nabla/ir/b.h\"\n#include <nabla/ir/missing.h>\n")
file(WRITE ${WORK}/include/nabla/ir/b.h "#pragma once\n  #  include <llvm/IR/Module.h>\n")
foreach(f lib/libnabla_ir.a bin/nablac lib/cmake/nabla/nablaConfig.cmake)
  file(WRITE ${WORK}/${f} "")
endforeach()
execute_process(
  COMMAND ${CMAKE_COMMAND} -DCMAKE_INSTALL_PREFIX=${WORK} -DNABLA_INSTALLED_LIBS=nabla_ir
          -DNABLA_INSTALLED_TOOLS=nabla-opt -DNABLA_CONFIG_DIR=lib/cmake/nabla
          -DNABLA_LIBDIR=lib -DNABLA_BINDIR=bin -DNABLA_INCLUDEDIR=include -P ${SRC}/cmake/check_install.cmake
  RESULT_VARIABLE status ERROR_VARIABLE err OUTPUT_QUIET)
set(expected
  "nabla/ir/a.h includes nabla/ir/missing.h, which is not installed"
  "nabla/ir/b.h includes llvm/IR/Module.h (LLVM is private to nabla)"
  "bin/nabla-opt is missing"
  "lib/cmake/nabla/nablaTargets.cmake is missing")
if(status EQUAL 0)
  message(FATAL_ERROR "the check accepted an incomplete tree")
endif()
foreach(line ${expected})
  string(FIND "${err}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the check did not say '${line}'; it said:\n${err}")
  endif()
endforeach()
string(FIND "${err}" "nabla/ir/b.h, which" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "the check reported an installed header as missing:\n${err}")
endif()
message(STATUS "the install check names every problem")
