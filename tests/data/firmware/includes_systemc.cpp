// Must NOT compile with the firmware's include paths: firmware reaches hardware only through
// the HAL. tests/CMakeLists.txt compiles this and expects the poison header's message.
#include <systemc>
