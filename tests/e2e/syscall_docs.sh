#!/bin/bash
# docs/syscalls.md is generated from the syscall table, and `moat help
# syscalls` prints the same table: the committed document and the binary agree.
source "$(dirname "$0")/lib.sh"

run help_syscalls "$MOAT" help syscalls
expect_status "moat help syscalls exits 0" help_syscalls 0
if diff -u "$SRC/docs/syscalls.md" "$E2E_TMP/help_syscalls.out" >"$E2E_TMP/docs.diff"; then
  pass "docs/syscalls.md matches moat help syscalls"
else
  fail "docs/syscalls.md differs from moat help syscalls (rebuild to regenerate it)"
  head -40 "$E2E_TMP/docs.diff"
fi
expect_grep "table lists read" "$E2E_TMP/help_syscalls.out" '\| 0 \| read \|'
expect_grep "table has totals" "$E2E_TMP/help_syscalls.out" '[Tt]otal'
finish
