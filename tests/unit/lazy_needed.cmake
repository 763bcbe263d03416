# ctest lazy_libraries_not_needed: the kubemcp binary must not list the libraries src/lazy/ opens
# on first use as NEEDED (they would be mapped and initialised at start again), nor export the
# functions src/lazy/ defines (the libraries' own calls would then come back through them).
# Run as: cmake -DBINARY=... -DOBJDUMP=... -DLAZY_SONAMES="a;b" -P lazy_needed.cmake
execute_process(COMMAND ${OBJDUMP} -p ${BINARY} OUTPUT_VARIABLE headers COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${OBJDUMP} -T ${BINARY} OUTPUT_VARIABLE dynsyms COMMAND_ERROR_IS_FATAL ANY)
set(failures "")
foreach(soname IN LISTS LAZY_SONAMES)
  string(REPLACE "." "\\." pattern "${soname}")
  if(headers MATCHES "NEEDED +${pattern}\n")
    string(APPEND failures "  ${BINARY} maps ${soname} at start: it calls a function of it that src/lazy/ "
                           "does not define (`nm -D --undefined-only ${BINARY}` lists the candidates)\n")
  endif()
endforeach()
string(REGEX MATCHALL "[^\n]*[0-9a-f]+ g +DF \\.text[^\n]*" exported "${dynsyms}")
foreach(line IN LISTS exported)
  if(line MATCHES "(curl_|MHD_|cjose_|gnutls_|CRYPTO_|OPENSSL_|RAND_|SHA256|EVP_)[A-Za-z0-9_]*")
    string(APPEND failures "  ${BINARY} exports ${CMAKE_MATCH_0}, which src/lazy/ defines for its own callers only\n")
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "lazily opened libraries are not lazy any more:\n${failures}")
endif()
message(STATUS "none of ${LAZY_SONAMES} is NEEDED by ${BINARY}")
