#pragma once
// The moat command line: one function per command.

#include <string>
#include <vector>

namespace moat::cli {

// Exit status conventions: 2 for usage errors, 1 for failures of moat itself,
// 126/127 for a command that could not run, the guest's status otherwise.
constexpr int kUsageError = 2;

int run_do(const std::vector<std::string>& args);
void print_usage(FILE* out);

}  // namespace moat::cli
