// fmalens: the GUI when started bare, the CLI with a subcommand.
#include <cstdio>

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::puts("fmalens");
  return 0;
}
