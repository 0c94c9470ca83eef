# Warnings for every target of the project. CI turns them into errors (EMBER_WERROR).
add_compile_options(-Wall -Wextra -Wpedantic)
if(EMBER_WERROR)
  add_compile_options(-Werror)
endif()
