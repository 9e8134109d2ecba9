# Warnings for the project's own C and C++ code (not CUDA device code).
add_compile_options(
  "$<$<COMPILE_LANGUAGE:C,CXX>:-Wall;-Wextra;-Wno-unused-parameter>"
)
