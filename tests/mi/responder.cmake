# The fake NVMe-MI endpoint network (tests/mi/README.md):
#   mctp_interpose  LD_PRELOAD shim turning AF_MCTP sockets into seqpacket
#                   connections to the responder; no project libraries.
#   mi_responder    one simulated subsystem per (net, eid), NVMe-MI 1.2.
#   mi_probe        drives an endpoint through libnvme-mi's public API only.

add_library(mctp_interpose MODULE ${CMAKE_CURRENT_SOURCE_DIR}/mctp_interpose.c)
target_link_libraries(mctp_interpose PRIVATE ${CMAKE_DL_LIBS} pthread)
# The shim is preloaded into sanitized and plain processes alike, so it is
# never instrumented itself: an instrumented shim would drag its sanitizer
# runtime into processes that were not built for it.
foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
  get_target_property(opts mctp_interpose ${prop})
  if(opts)
    list(FILTER opts EXCLUDE REGEX "sanitize")
    set_target_properties(mctp_interpose PROPERTIES ${prop} "${opts}")
  endif()
endforeach()

add_executable(mi_responder
  ${CMAKE_CURRENT_SOURCE_DIR}/mi_responder.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mi_responder_ctl.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mi_responder_proto.c)
target_link_libraries(mi_responder PRIVATE nvmerpc PkgConfig::LIBUV PkgConfig::JANSSON)

add_executable(mi_probe ${CMAKE_CURRENT_SOURCE_DIR}/mi_probe.c)
target_link_libraries(mi_probe PRIVATE PkgConfig::LIBNVME_MI)

# What a test of the MI backend needs in its environment; tests/mi/daemon.cmake
# appends it to its own ENVIRONMENT. The harness (mi_harness.py) reads these.
set(NR_MI_TEST_ENV
  "NR_MI_RESPONDER=$<TARGET_FILE:mi_responder>"
  "NR_MCTP_INTERPOSE=$<TARGET_FILE:mctp_interpose>"
  "NR_MI_PROBE=$<TARGET_FILE:mi_probe>"
  "NR_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "NR_SANITIZED=$<BOOL:${NR_ASAN}>"
  "PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}")

add_test(NAME mi.test_responder
         COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/test_responder.py)
set_tests_properties(mi.test_responder PROPERTIES
  LABELS mi TIMEOUT 300
  ENVIRONMENT "${NR_MI_TEST_ENV}")
