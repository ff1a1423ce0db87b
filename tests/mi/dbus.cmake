# MCTP endpoint discovery over D-Bus (src/backends/mi/mctp_dbus.c) against fake_mctpd on a
# private dbus-daemon: tests/mi/test_mctp_dbus.py through tests/mi/dbus_harness.py.
pkg_check_modules(DBUS REQUIRED IMPORTED_TARGET dbus-1)
find_program(NR_DBUS_DAEMON dbus-daemon)
if(NOT NR_DBUS_DAEMON)
  message(WARNING "dbus-daemon not found: mi.test_mctp_dbus will fail (scripts/setup.sh installs it)")
endif()

add_executable(fake_mctpd ${CMAKE_CURRENT_SOURCE_DIR}/fake_mctpd.c)
target_link_libraries(fake_mctpd PRIVATE PkgConfig::DBUS)

add_executable(mctp_discover ${CMAKE_CURRENT_SOURCE_DIR}/mctp_discover.c)
target_link_libraries(mctp_discover PRIVATE nvmerpc PkgConfig::DBUS)

# What a test needs to run the harness; tests/mi/daemon.cmake adds it to its
# tests' ENVIRONMENT too. The harness module itself is in NR_DBUS_HARNESS_DIR.
set(NR_DBUS_HARNESS_DIR ${CMAKE_CURRENT_SOURCE_DIR})
set(NR_DBUS_TEST_ENV
    "NR_FAKE_MCTPD=$<TARGET_FILE:fake_mctpd>"
    "NR_MCTP_DISCOVER=$<TARGET_FILE:mctp_discover>"
    "NR_DBUS_CONF=${CMAKE_CURRENT_SOURCE_DIR}/dbus-test.conf"
    "NR_DBUS_DAEMON=${NR_DBUS_DAEMON}")

add_test(NAME mi.test_mctp_dbus
         COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/test_mctp_dbus.py)
set_tests_properties(mi.test_mctp_dbus PROPERTIES
  LABELS mi TIMEOUT 300
  ENVIRONMENT "${NR_DBUS_TEST_ENV}")
