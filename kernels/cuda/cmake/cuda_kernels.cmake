# loom_cuda_kernel_library(name SOURCES a.cu b.cu ... [HOST_SOURCES x.cpp ...] [LIBS ...])
#
# Compiles a group of kernels with nvcc for sm_80/86/89/90 (+ compute_90 PTX)
# when LOOM_CUDA is ON, so CI proves every kernel builds for real GPUs. ptxas
# prints its resource report (-v: registers, stack, spills per kernel, in the
# build log) and the build FAILS when any kernel spills registers or uses
# local memory at all (-warn-spills, -warn-lmem-usage, -Werror: a spill or a
# stack frame is a ptxas error naming the function).
#
# With LOOM_CUDA OFF nothing is built here: the SIMT tests compile the same .cu
# files themselves (loom_add_simt_test). HOST_SOURCES (plain C++ with no CUDA,
# e.g. weight repacking) always go into `<name>_host`, linked by both.
include_guard(GLOBAL)

function(loom_cuda_kernel_library name)
  cmake_parse_arguments(K "" "" "SOURCES;HOST_SOURCES;LIBS" ${ARGN})
  if(K_HOST_SOURCES)
    add_library(${name}_host STATIC ${K_HOST_SOURCES})
    target_include_directories(${name}_host PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name}_host PUBLIC ${K_LIBS})
  endif()
  if(NOT LOOM_CUDA)
    return()
  endif()
  add_library(${name} STATIC ${K_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  set_target_properties(${name} PROPERTIES
    CUDA_ARCHITECTURES "80-real;86-real;89-real;90-real;90-virtual"
    CUDA_STANDARD 17  # CMake 3.25 has no C++20 flags for nvcc 13
    CUDA_SEPARABLE_COMPILATION OFF)
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-v,-warn-spills,-warn-lmem-usage,-Werror>)
  if(K_HOST_SOURCES)
    target_link_libraries(${name} PUBLIC ${name}_host)
  endif()
  target_link_libraries(${name} PUBLIC ${K_LIBS})
endfunction()
