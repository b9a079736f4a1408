// moat: a sandboxed container runtime. Entry point and command dispatch.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/cli.h"
#include "sentry/syscalls/table.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    moat::cli::print_usage(stderr);
    return moat::cli::kUsageError;
  }
  const std::string& cmd = args[0];
  if (cmd == "--version" || cmd == "version") {
    printf("moat version %s\n", MOAT_VERSION);
    return 0;
  }
  if (cmd == "help" && args.size() > 1 && args[1] == "syscalls") {
    std::string doc = moat::syscall_coverage_markdown();
    fwrite(doc.data(), 1, doc.size(), stdout);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    moat::cli::print_usage(stdout);
    return 0;
  }
  if (cmd == "do") return moat::cli::run_do({args.begin() + 1, args.end()});
  fprintf(stderr, "moat: unknown command \"%s\" (see 'moat help')\n", cmd.c_str());
  return moat::cli::kUsageError;
}
