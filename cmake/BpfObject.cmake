# BPF objects and their skeletons.
#
#   portway_bpf_object(<name> <source.bpf.c> [VARIANT <variant> DEFINES <NAME=VALUE>...])
#
# VARIANT builds the same source once more with extra -D definitions, under <variant>/ and as
# targets portway_bpf_<name>_<variant>[_skel]; the skeleton keeps the name <name>, so code
# written against <name>.skel.h compiles unchanged against the variant (the upgrade tests
# build a portway whose BPF object differs this way, tests/integration/CMakeLists.txt).
#
# Pipeline (libbpf-bootstrap style), all outputs under ${CMAKE_CURRENT_BINARY_DIR}:
#   clang -target bpf -O2 -g ...   -> <name>.unlinked.bpf.o  (+ <name>.bpf.d depfile)
#   bpftool gen object             -> <name>.bpf.o           (the linked object)
#   bpftool gen skeleton ... name <name> -> skel/<name>.skel.h
#
# Targets and properties it defines:
#   portway_bpf_<name>_skel   custom target that produces the skeleton header.
#   portway_bpf_<name>        INTERFACE library, ALIAS portway::bpf_<name>: puts the directory of
#                             <name>.skel.h on the include path (as SYSTEM, the generated code
#                             is not ours to keep warning-free), links PkgConfig::LIBBPF and
#                             portway_abi, and orders the skeleton generation before any
#                             consumer compiles. A C++ target only needs
#                               target_link_libraries(t PRIVATE portway::bpf_<name>)
#                             and `#include "<name>.skel.h"`.
#   property PORTWAY_BPF_OBJECT on portway_bpf_<name>: absolute path of the linked <name>.bpf.o,
#                             e.g. for tests that compare the C headers with the object's BTF:
#                               $<TARGET_PROPERTY:portway_bpf_<name>,PORTWAY_BPF_OBJECT>
#   property PORTWAY_BPF_SKELETON on portway_bpf_<name>: absolute path of <name>.skel.h.
#
# Header changes rebuild the object: clang writes a depfile that Ninja (and Make, CMake >= 3.20)
# reads through add_custom_command(DEPFILE).

find_program(PORTWAY_BPF_CLANG NAMES clang clang-14 REQUIRED
             DOC "clang used to compile BPF programs")
find_program(PORTWAY_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin REQUIRED
             DOC "bpftool used to link BPF objects and generate skeletons")

# clang's BPF target has no notion of the host, so the __TARGET_ARCH_* macro (bpf_tracing.h)
# and the multiarch include dir (asm/types.h lives there on Debian) come from the host here.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i.86)$")
  set(_portway_bpf_arch x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(_portway_bpf_arch arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
  set(_portway_bpf_arch arm)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(ppc64|ppc64le|powerpc64)")
  set(_portway_bpf_arch powerpc)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^s390")
  set(_portway_bpf_arch s390)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^riscv")
  set(_portway_bpf_arch riscv)
else()
  message(FATAL_ERROR "portway: no __TARGET_ARCH_ mapping for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

set(_portway_bpf_multiarch "${CMAKE_LIBRARY_ARCHITECTURE}")
if(NOT _portway_bpf_multiarch)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                  OUTPUT_VARIABLE _portway_bpf_multiarch OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET)
endif()
set(PORTWAY_BPF_SYSTEM_INCLUDES "")
if(_portway_bpf_multiarch AND EXISTS "/usr/include/${_portway_bpf_multiarch}")
  # -idirafter, not -I: searched after the project's own dirs, and treated as a system dir
  # so warnings inside the distribution's asm headers don't fail a -Werror build.
  list(APPEND PORTWAY_BPF_SYSTEM_INCLUDES -idirafter "/usr/include/${_portway_bpf_multiarch}")
endif()

set(PORTWAY_BPF_CFLAGS -target bpf -O2 -g -D__TARGET_ARCH_${_portway_bpf_arch}
                       -Wall -Wextra -Werror)

# This file's own location, not CMAKE_SOURCE_DIR, so the function also works from a build
# tree whose top level is not portway's (a nested or throwaway project).
cmake_path(GET CMAKE_CURRENT_LIST_DIR PARENT_PATH PORTWAY_BPF_SOURCE_ROOT)

function(portway_bpf_object name source)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "VARIANT" "DEFINES")
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    # The skeleton name becomes a C identifier (struct <name>, <name>__open()).
    message(FATAL_ERROR "portway_bpf_object: '${name}' is not a valid C identifier")
  endif()
  cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
             OUTPUT_VARIABLE src)

  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}")
  set(target portway_bpf_${name})
  set(defines "")
  if(arg_VARIANT)
    set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/${arg_VARIANT}")
    set(target portway_bpf_${name}_${arg_VARIANT})
    foreach(d IN LISTS arg_DEFINES)
      list(APPEND defines -D${d})
    endforeach()
  endif()
  set(skel_dir "${out_dir}/skel")
  set(unlinked "${out_dir}/${name}.unlinked.bpf.o")
  set(depfile "${out_dir}/${name}.bpf.d")
  set(linked "${out_dir}/${name}.bpf.o")
  set(skel "${skel_dir}/${name}.skel.h")

  add_custom_command(
    OUTPUT "${unlinked}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${out_dir}"
    COMMAND ${PORTWAY_BPF_CLANG} ${PORTWAY_BPF_CFLAGS} ${defines}
            -I${PORTWAY_BPF_SOURCE_ROOT}/include -I${PORTWAY_BPF_SOURCE_ROOT}/bpf
            ${PORTWAY_BPF_SYSTEM_INCLUDES}
            -MD -MF "${depfile}"
            -c "${src}" -o "${unlinked}"
    DEPENDS "${src}"
    DEPFILE "${depfile}"
    COMMENT "BPF compile ${target}"
    VERBATIM)

  # Linking even a single object is not a no-op: bpftool gen object deduplicates BTF and
  # resolves .BTF.ext, and is the step that will join several .bpf.c files later.
  add_custom_command(
    OUTPUT "${linked}"
    COMMAND ${PORTWAY_BPFTOOL} gen object "${linked}" "${unlinked}"
    DEPENDS "${unlinked}"
    COMMENT "BPF link ${target}"
    VERBATIM)

  # Through a temporary file: a failing bpftool must not leave a truncated header behind that
  # the build would then consider up to date. copy_if_different keeps the header's timestamp
  # when the object changed in no way the skeleton shows, so C++ consumers don't recompile.
  add_custom_command(
    OUTPUT "${skel}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${skel_dir}"
    COMMAND ${PORTWAY_BPFTOOL} gen skeleton "${linked}" name ${name} > "${skel}.tmp"
    COMMAND ${CMAKE_COMMAND} -E copy_if_different "${skel}.tmp" "${skel}"
    COMMAND ${CMAKE_COMMAND} -E rm -f "${skel}.tmp"
    DEPENDS "${linked}"
    COMMENT "BPF skeleton ${target}"
    VERBATIM)

  add_custom_target(${target}_skel DEPENDS "${skel}")

  add_library(${target} INTERFACE)
  string(REPLACE "portway_bpf_" "portway::bpf_" alias "${target}")
  add_library(${alias} ALIAS ${target})
  target_include_directories(${target} SYSTEM INTERFACE "${skel_dir}")
  target_link_libraries(${target} INTERFACE PkgConfig::LIBBPF portway_abi)
  add_dependencies(${target} ${target}_skel)
  set_target_properties(${target} PROPERTIES
                        PORTWAY_BPF_OBJECT "${linked}"
                        PORTWAY_BPF_SKELETON "${skel}")
endfunction()
