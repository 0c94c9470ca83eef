# Every dependency comes from a Debian package; a missing one names the package to install
# (scripts/install-deps.sh installs them all).
function(ember_require_package pkg debian_pkg)
  find_package(${pkg} ${ARGN} QUIET)
  if(NOT ${pkg}_FOUND)
    message(FATAL_ERROR "Ember needs ${pkg}: install the Debian package '${debian_pkg}' "
                        "(apt-get install ${debian_pkg}, or run scripts/install-deps.sh)")
  endif()
endfunction()

ember_require_package(xsimd libxsimd-dev)
ember_require_package(OpenMP "libgomp1 (part of gcc)")
ember_require_package(nlohmann_json nlohmann-json3-dev)
if(EMBER_BUILD_TESTS)
  ember_require_package(Catch2 catch2)
endif()
if(EMBER_BUILD_BENCH)
  ember_require_package(benchmark libbenchmark-dev)
endif()
find_package(Threads REQUIRED)

# Debian's xsimd 8.1 target names a non-existent "xtl" link library; use its headers only.
# Where it serves: the softmax/SiLU exp (kernels/cpu/exp_approx_xsimd.inc) on fma3<avx2> and
# neon64, 1.6-2.3x the auto-vectorized loop with the same bits (docs/ARCHITECTURE.md); xsimd
# 8.1's fma is not fused at SSE2 or AVX-512 (mul + add), so only those two archs.
get_target_property(EMBER_XSIMD_INCLUDES xsimd INTERFACE_INCLUDE_DIRECTORIES)
add_library(ember_xsimd INTERFACE)
target_include_directories(ember_xsimd SYSTEM INTERFACE ${EMBER_XSIMD_INCLUDES})
