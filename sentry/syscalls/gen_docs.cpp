// Prints docs/syscalls.md, generated from the syscall table. The build runs it
// and writes its output; the coverage document is never edited by hand.

#include <cstdio>
#include <string>

#include "sentry/syscalls/table.h"

int main() {
  std::string doc = moat::syscall_coverage_markdown();
  if (fwrite(doc.data(), 1, doc.size(), stdout) != doc.size()) return 1;
  return fflush(stdout) == 0 ? 0 : 1;
}
