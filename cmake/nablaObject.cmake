# nabla_add_object(TARGET FILE.nabla [NAME STEM] [FUNCTIONS NAME...]
#                  [NAMESPACE NS] [TRIPLE TRIPLE] [CPU NAME] [OPTIONS ARG...])
#
# Compiles FILE.nabla with nablac (the one of this build, or the installed
# one) into an object and a header when TARGET is built, and adds both to
# TARGET: the object is linked in (with libm, which it calls), and the
# header's directory is on TARGET's include path, so its sources write
# #include "STEM.h" (STEM: NAME, or the file's name without .nabla).
#   FUNCTIONS  compile only these functions (nablac --func)
#   NAMESPACE  the C++ namespace of the header's classes (--namespace)
#   TRIPLE, CPU  the target and its CPU (--target, --cpu; default: nablac's)
#   OPTIONS    any other nablac options, e.g. -O2 --fast-math
# Documented in docs/install.md.
function(nabla_add_object target file)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "NAME;NAMESPACE;TRIPLE;CPU" "FUNCTIONS;OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nabla_add_object: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "nabla_add_object: no target '${target}'")
  endif()
  get_filename_component(source ${file} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  if(NOT arg_NAME)
    get_filename_component(arg_NAME ${file} NAME_WE)
  endif()
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/nabla_objects/${target})
  set(object ${dir}/${arg_NAME}${CMAKE_CXX_OUTPUT_EXTENSION})
  set(header ${dir}/${arg_NAME}.h)
  set(args ${arg_OPTIONS})
  foreach(f ${arg_FUNCTIONS})
    list(APPEND args --func ${f})
  endforeach()
  if(arg_NAMESPACE)
    list(APPEND args --namespace ${arg_NAMESPACE})
  endif()
  if(arg_TRIPLE)
    list(APPEND args --target ${arg_TRIPLE})
  endif()
  if(arg_CPU)
    list(APPEND args --cpu ${arg_CPU})
  endif()
  add_custom_command(OUTPUT ${object} ${header}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND nabla::nablac ${source} -o ${object} --header ${header} ${args}
    DEPENDS ${source} nabla::nablac
    COMMENT "nablac ${file} -> ${arg_NAME}${CMAKE_CXX_OUTPUT_EXTENSION}, ${arg_NAME}.h"
    VERBATIM)
  target_sources(${target} PRIVATE ${object} ${header})
  set_source_files_properties(${object} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  target_include_directories(${target} PRIVATE ${dir})
  if(UNIX)
    target_link_libraries(${target} PRIVATE m)
  endif()
endfunction()
