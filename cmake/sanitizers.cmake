# SANITIZE instruments the whole build: one of address, undefined, thread,
# or a comma-separated list (address,undefined). thread combines with no
# other.
string(REPLACE "," ";" idunno_sanitizers "${SANITIZE}")
set(idunno_known_sanitizers address undefined thread)
foreach(s IN LISTS idunno_sanitizers)
  if(NOT s IN_LIST idunno_known_sanitizers)
    message(FATAL_ERROR "SANITIZE takes address, undefined, thread or a list of them (address,undefined), not '${SANITIZE}'")
  endif()
endforeach()
if("thread" IN_LIST idunno_sanitizers AND NOT SANITIZE STREQUAL "thread")
  message(FATAL_ERROR "SANITIZE=thread combines with no other sanitizer, not '${SANITIZE}'")
endif()
if(idunno_sanitizers)
  string(REPLACE ";" "," idunno_sanitize_flag "${idunno_sanitizers}")
  add_compile_options(-fsanitize=${idunno_sanitize_flag} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${idunno_sanitize_flag})
endif()
if("address" IN_LIST idunno_sanitizers)
  # Recycled awaitable frames hide use-after-free in coroutine frames.
  add_compile_definitions(BOOST_ASIO_DISABLE_AWAITABLE_FRAME_RECYCLING)
endif()
if("undefined" IN_LIST idunno_sanitizers)
  # Undefined behaviour fails the test instead of printing and going on.
  add_compile_options(-fno-sanitize-recover=undefined)
endif()
