# Warnings for every target of the project. CI turns them into errors (EMBER_WERROR).
add_compile_options(-Wall -Wextra -Wpedantic)
if(EMBER_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12's flow analysis is unreliable under the sanitizers' instrumentation: it reports
  # "may be used uninitialized" inside libstdc++ (std::regex, std::function). The release
  # build keeps the warning.
  add_compile_options(-Wno-maybe-uninitialized)
endif()
if(EMBER_WERROR)
  add_compile_options(-Werror)
endif()
