// libsystemc.so, which the platform library links, calls sc_main from its own main. The fuzz
// programs have their own main (libFuzzer's, or the tool's), so it is never called; it only has
// to exist for the link.
extern "C" int sc_main(int, char*[]) { return 0; }  // as <systemc> declares it
