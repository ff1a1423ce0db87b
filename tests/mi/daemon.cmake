# The daemon's NVMe-MI backend end to end: the real nvmerpcd, unchanged, with
# the AF_MCTP interposer preloaded, talking to the responder; discovery
# through a fake MCTP daemon on a private bus.
set(NR_MI_DAEMON_ENV ${NR_MI_TEST_ENV} ${NR_DBUS_TEST_ENV}
    "NVMERPCD=$<TARGET_FILE:nvmerpcd>"
    "NR_OPENRPC=${NR_OPENRPC_JSON}"
    "NR_MI_PYTHONPATH=${CMAKE_SOURCE_DIR}/clients/python:${CMAKE_SOURCE_DIR}/tests/integration")
file(GLOB NR_MI_DAEMON_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_mi_*.py)
foreach(src ${NR_MI_DAEMON_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME mi.${name}
           COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${src})
  set_tests_properties(mi.${name} PROPERTIES
    LABELS mi TIMEOUT 600
    ENVIRONMENT "${NR_MI_DAEMON_ENV}")
endforeach()
