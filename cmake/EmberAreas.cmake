# The library is assembled from areas (core, gguf, kernels, tokenizer, model, ...), each one or
# more OBJECT libraries. Tests and tools link only the areas they need, so layering stays
# explicit; libember (shared and static) contains all of them.

# Headers every area sees: the public include dir, src/ and kernels/ (private).
add_library(ember_headers INTERFACE)
target_include_directories(ember_headers INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/kernels>)
target_compile_definitions(ember_headers INTERFACE EMBER_BUILDING)
target_link_libraries(ember_headers INTERFACE OpenMP::OpenMP_CXX Threads::Threads)

# ember_register_objects(AREA TARGET): TARGET's objects belong to AREA.
function(ember_register_objects area target)
  set_property(GLOBAL PROPERTY EMBER_AREA_KNOWN_${area} TRUE)
  set_property(GLOBAL APPEND PROPERTY EMBER_AREA_${area} ${target})
  set_property(GLOBAL APPEND PROPERTY EMBER_ALL_OBJECT_TARGETS ${target})
endfunction()

# ember_add_area(AREA [DEPS dep...] [SUBDIRS dir...]): an OBJECT library from every .cpp in this
# directory (and in the listed subdirectories).
function(ember_add_area area)
  cmake_parse_arguments(A "" "" "DEPS;SUBDIRS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  foreach(dir ${A_SUBDIRS})
    file(GLOB sub CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp)
    list(APPEND srcs ${sub})
  endforeach()
  set_property(GLOBAL PROPERTY EMBER_AREA_KNOWN_${area} TRUE)
  if(NOT srcs)  # an area still being written: nothing to build yet
    add_library(ember_${area} INTERFACE)
    target_link_libraries(ember_${area} INTERFACE ember_headers ${A_DEPS})
    return()
  endif()
  add_library(ember_${area} OBJECT ${srcs})
  target_link_libraries(ember_${area} PUBLIC ember_headers ${A_DEPS})
  ember_register_objects(${area} ember_${area})
endfunction()

# ember_link_areas(TARGET area...): links TARGET with the objects of the given areas.
function(ember_link_areas target)
  foreach(area ${ARGN})
    get_property(objs GLOBAL PROPERTY EMBER_AREA_${area})
    get_property(known GLOBAL PROPERTY EMBER_AREA_KNOWN_${area})
    if(NOT objs AND NOT known)
      message(FATAL_ERROR "ember_link_areas(${target}): unknown area '${area}'")
    endif()
    foreach(obj ${objs})
      target_sources(${target} PRIVATE $<TARGET_OBJECTS:${obj}>)
      target_link_libraries(${target} PRIVATE ${obj})
    endforeach()
  endforeach()
endfunction()
