# Warnings live here and only here. They apply to our targets (through
# idunno_target_warnings), never to third-party headers, which are included
# as SYSTEM.
function(idunno_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Woverloaded-virtual)
  if(IDUNNO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
