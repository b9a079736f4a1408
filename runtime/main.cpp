// moat: a sandboxed container runtime. Entry point and command dispatch.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "config/oci_spec.h"
#include "runtime/cli.h"
#include "sentry/syscalls/table.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  moat::cli::GlobalOptions global;
  size_t i = 0;
  if (auto status = moat::cli::parse_global_flags(args, i, global)) return *status;
  if (i >= args.size()) {
    moat::cli::print_usage(stderr);
    moat::cli::print_oci_usage(stderr);
    return moat::cli::kUsageError;
  }
  const std::string& cmd = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
  if (cmd == "--version" || cmd == "-v" || cmd == "version") {
    printf("moat version %s\nspec: %s\n", MOAT_VERSION, moat::oci::kSpecVersion);
    return 0;
  }
  if (cmd == "help" && !rest.empty() && rest[0] == "syscalls") {
    std::string doc = moat::syscall_coverage_markdown();
    fwrite(doc.data(), 1, doc.size(), stdout);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    moat::cli::print_usage(stdout);
    moat::cli::print_oci_usage(stdout);
    return 0;
  }
  if (cmd == "do") return moat::cli::run_do(rest);
  if (cmd == "batch") return moat::cli::run_batch(rest);
  if (moat::cli::is_oci_command(cmd)) return moat::cli::run_oci(global, cmd, rest);
  fprintf(stderr, "moat: unknown command \"%s\" (see 'moat help')\n", cmd.c_str());
  return moat::cli::kUsageError;
}
