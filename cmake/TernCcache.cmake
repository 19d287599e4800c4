# Use ccache when it is installed: CI and fresh clones rebuild far faster on a warm cache.
find_program(TERN_CCACHE ccache)
if(TERN_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${TERN_CCACHE})
    set(CMAKE_C_COMPILER_LAUNCHER ${TERN_CCACHE})
endif()
