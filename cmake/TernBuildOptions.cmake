# INTERFACE targets carrying warnings and sanitizers. Link them PRIVATE so that they never leak
# into targets of other projects (for example an app that links the SDK).

add_library(tern_warnings INTERFACE)
add_library(tern::warnings ALIAS tern_warnings)
# -Wall's -Wdelete-non-virtual-dtor catches the real hazard; -Wnon-virtual-dtor would also flag
# boost::system::error_category, whose protected non-virtual destructor is by design.
target_compile_options(tern_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough)

add_library(tern_sanitizers INTERFACE)
add_library(tern::sanitizers ALIAS tern_sanitizers)
if(TERN_SANITIZE)
    target_compile_options(tern_sanitizers INTERFACE
        -fsanitize=${TERN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(tern_sanitizers INTERFACE -fsanitize=${TERN_SANITIZE})
    # clang 14's UBSan "function" check breaks the assembly of coroutine code ("Cannot represent
    # a difference across sections"); the check is of little use for C++ anyway.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND TERN_SANITIZE MATCHES "undefined")
        target_compile_options(tern_sanitizers INTERFACE -fno-sanitize=function)
    endif()
endif()

# Generated code (protobuf) gets the sanitizers but not our warnings.
add_library(tern_generated_options INTERFACE)
target_link_libraries(tern_generated_options INTERFACE tern_sanitizers)

# tern_use_fast_allocator(executable): links tcmalloc (gperftools) into a program that allocates
# many small, short-lived objects across threads: frames, completions, RocksDB write batches.
# glibc malloc was 12-14 % of ternd's and tern-bench's samples under load (docs/benchmarks.md).
# Only programs: the SDK never chooses an app's allocator. Sanitizer builds keep theirs.
function(tern_use_fast_allocator target)
    if(NOT TERN_SANITIZE)
        target_link_libraries(${target} PRIVATE PkgConfig::TCMALLOC)
    endif()
endfunction()

# tern_add_options(target): the options every first-party target gets.
function(tern_add_options target)
    target_link_libraries(${target} PRIVATE tern_warnings tern_sanitizers)
endfunction()
