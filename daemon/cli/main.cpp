#include "cli/lockwatch_main.hpp"

int main(int argc, char** argv) {
  return lockwatch::lockwatch_main(argc, argv);
}
