# envflow_json_users(<out> <source>...): the sources that include <nlohmann/json.hpp>,
# themselves or through envflow's own headers (src/, any depth). Only these get the
# precompiled nlohmann/json (CMakeLists.txt, "Build cost"): a precompiled header puts its
# declarations in every file it is given to, and a declaration a file never saw can
# change what its code means (an unqualified `quoted(s)` finds std::quoted by ADL once
# <iomanip> is in), so a file gets only what it includes anyway.
function(envflow_json_users out)
  # The headers of src/ that bring nlohmann/json.hpp, to a fixed point.
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.h)
  set(json_headers)
  set(pattern "<nlohmann/json\\.hpp>")
  set(changed TRUE)
  while(changed)
    set(changed FALSE)
    foreach(header IN LISTS headers)
      if(NOT header IN_LIST json_headers)
        file(STRINGS ${header} hits REGEX "^#include (${pattern})")
        if(hits)
          list(APPEND json_headers ${header})
          file(RELATIVE_PATH name ${CMAKE_SOURCE_DIR}/src ${header})
          string(REPLACE "." "\\." name ${name})
          string(APPEND pattern "|\"${name}\"")
          set(changed TRUE)
        endif()
      endif()
    endforeach()
  endwhile()
  set(users)
  foreach(source IN LISTS ARGN)
    file(STRINGS ${source} hits REGEX "^#include (${pattern})")
    if(hits)
      list(APPEND users ${source})
    endif()
  endforeach()
  set(${out} ${users} PARENT_SCOPE)
endfunction()
