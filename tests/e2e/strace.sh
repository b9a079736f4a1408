#!/bin/bash
# `moat do --strace` logs each guest syscall on stderr, strace style, and leaves
# the guest's stdout and exit status unchanged.
source "$(dirname "$0")/lib.sh"

HELLO_STATIC=$(need_fixture hello_static)

run native "$HELLO_STATIC"
run traced "$MOAT" do --strace -- "$HELLO_STATIC"
expect_status "traced run exits 0" traced 0
if cmp -s "$E2E_TMP/native.out" "$E2E_TMP/traced.out"; then
  pass "stdout unchanged by --strace"
else
  fail "stdout changed by --strace (--- native, +++ moat --strace):"
  diff -u --label native --label "moat --strace" "$E2E_TMP/native.out" "$E2E_TMP/traced.out" | head -n 20
fi
expect_grep "write(1, \"hello... is logged" "$E2E_TMP/traced.err" '^(\[[^]]*\] *)?write\(1, "hello'
expect_grep "exit_group(0) is logged" "$E2E_TMP/traced.err" '^(\[[^]]*\] *)?exit_group\(0\)'
expect_no_fixed "the trace does not go to stdout" "$E2E_TMP/traced.out" "exit_group"

# Without --strace nothing is logged.
run untraced "$MOAT" do -- "$HELLO_STATIC"
expect_status "untraced run exits 0" untraced 0
if grep -Eq 'write\(1|exit_group' "$E2E_TMP/untraced.err"; then
  fail "syscalls logged without --strace"
  head -n 5 "$E2E_TMP/untraced.err"
else
  pass "nothing logged without --strace"
fi

finish
