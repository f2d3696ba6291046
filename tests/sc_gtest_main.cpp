// libsystemc calls sc_main; the tests run GoogleTest from it. SystemC elaborates once per
// process, and gtest_discover_tests runs every TEST in a process of its own.
#include <cstdlib>

#include <systemc>
#include <gtest/gtest.h>

int sc_main(int argc, char* argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
