#!/bin/bash
# Real programs print the same stdout and exit with the same status natively
# and inside `moat do`; stdin is connected; exit codes and deaths by signal
# (128+N) come through.
source "$(dirname "$0")/lib.sh"

HELLO_STATIC=$(need_fixture hello_static)
HELLO_CPP=$(need_fixture hello_cpp)
SEGV=$(need_fixture segv)
HELLO_PIE=$(need_fixture hello_static_pie)
BAD_SYSCALLS=$(need_fixture bad_syscalls)

compare "python3 json and listdir" cat \
  "$PYTHON" -c 'import os,sys,json; print(json.dumps(sorted(os.listdir("/"))[:3]), sum(range(10)))'
compare "busybox ls -la /usr/bin" cat /bin/busybox ls -la /usr/bin
compare "ls -la /usr/bin" cat /bin/ls -la /usr/bin
compare "ls -la /usr" cat /bin/ls -la /usr
# /proc, /dev, /sys and /tmp are the sandbox's own, so for / only names count.
compare "ls -a / (names only)" cat /bin/ls -a -1 /
# The environment is the caller's; only the order may differ.
compare "env (sorted)" "grep -v '^_=' | sort" /usr/bin/env
compare "static hello" cat "$HELLO_STATIC" one two
compare "dynamic C++ hello (exit 3)" cat "$HELLO_CPP" a b c
compare "static-pie hello" cat "$HELLO_PIE" x
compare "segv fixture (SIGSEGV)" cat "$SEGV"
# Syscall numbers outside the table and bad pointers fail as on Linux, and the
# sentry goes on serving the guest.
compare "hostile syscall numbers and pointers" cat "$BAD_SYSCALLS"

# stdin reaches the guest.
printf 'hi\n' >"$E2E_TMP/hi.txt"
run_stdin stdin_cat "$E2E_TMP/hi.txt" "$MOAT" do -- /bin/cat
if [[ $(out_of stdin_cat) == hi && $(status_of stdin_cat) == 0 ]]; then
  pass "stdin: echo hi | moat do -- /bin/cat prints hi"
else
  fail "stdin: echo hi | moat do -- /bin/cat"
  show stdin_cat
fi

# The guest's exit status is moat's exit status.
run exit7 "$MOAT" do -- "$PYTHON" -c 'import sys; sys.exit(7)'
expect_status "python3 sys.exit(7) exits 7" exit7 7

# A guest killed by signal N makes moat exit 128+N (SIGSEGV: 139), and output
# written before the fault is not lost.
run segv "$MOAT" do -- "$SEGV"
expect_status "guest killed by SIGSEGV exits 139" segv 139
expect_grep "output before the fault is kept" "$E2E_TMP/segv.out" '^about to fault$'

finish
