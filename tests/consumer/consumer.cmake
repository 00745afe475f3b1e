# Shared by the three consumer projects once vitals is available, whichever way.

# Every component target is there: the setup script installs their dependencies.
foreach(target vitals::vitals vitals::selector vitals::json vitals::net vitals::http vitals::sqlite
               vitals::remote_write vitals::postgres)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "${target} is missing")
  endif()
endforeach()

# As a dependency vitals builds nothing of its own (vitals_dev_flags exists
# whenever any of its tests, examples or benchmarks are configured).
foreach(target vitals_tests instrument_tour vitals_dev_flags)
  if(TARGET ${target})
    message(FATAL_ERROR "vitals configured its own '${target}' as a dependency")
  endif()
endforeach()

add_executable(consumer ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
# Linking every component proves that their link dependencies resolve.
target_link_libraries(consumer PRIVATE vitals::vitals vitals::selector vitals::json vitals::net
                      vitals::http vitals::sqlite vitals::remote_write vitals::postgres)
target_compile_options(consumer PRIVATE -Wall -Wextra -Wpedantic)
