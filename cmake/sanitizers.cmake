# LOOM_SANITIZE: ASan + UBSan on every C/C++ target, for the sanitizer test run.
if(LOOM_SANITIZE)
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=address,undefined;-fno-omit-frame-pointer;-fno-sanitize-recover=undefined>")
  add_link_options(-fsanitize=address,undefined)
endif()

# LOOM_TSAN: ThreadSanitizer on every C/C++ target, for the race test run
# (scripts/build.sh tsan: the plugin, the engine and their stress tests).
option(LOOM_TSAN "Build with ThreadSanitizer" OFF)
if(LOOM_TSAN)
  if(LOOM_SANITIZE)
    message(FATAL_ERROR "LOOM_TSAN and LOOM_SANITIZE (ASan) cannot be combined")
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=thread;-fno-omit-frame-pointer>")
  add_link_options(-fsanitize=thread)
endif()
