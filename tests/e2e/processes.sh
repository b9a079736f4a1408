#!/bin/bash
# Processes inside one sandbox: fork, exec, wait, pipes between processes,
# shells, Python's subprocess, and a parallel build with make and gcc. Each
# compares a native run with a run inside moat.
source "$(dirname "$0")/lib.sh"

compare "sh pipeline: seq | sort | head, arithmetic" cat \
  /bin/sh -c 'seq 1 2000 | sort -rn | head -3; echo $((6*7))'
compare "busybox sh: subshells, command substitution, exit statuses" cat /bin/busybox sh -c '
x=$(echo inner | tr a-z A-Z); echo "got $x"
(echo in a subshell; exit 3); echo "subshell status $?"
for i in 1 2 3; do echo "line $i"; done | wc -l
false || echo "false failed as it should"'
compare "busybox sh: traps, background jobs, wait, stop and continue" cat /bin/busybox sh -c '
trap "echo got USR1" USR1
trap "echo bye" EXIT
sleep 0.2 & p1=$!
(sleep 0.1; echo bg done) & p2=$!
wait $p2; echo "wait2 $?"
kill -USR1 $$
wait $p1; echo "wait1 $?"
sh -c "kill -TERM \$\$"; echo "killed $?"
sleep 5 & p3=$!
kill -STOP $p3; kill -CONT $p3; kill $p3; wait $p3 2>/dev/null; echo "stopped, continued, killed: $?"
for i in 1 2 3; do echo $i; done | while read n; do echo "n=$n"; done'
compare "python fork and waitpid" cat "$PYTHON" -c '
import os
pid = os.fork()
if pid == 0:
    os._exit(7)
p, st = os.waitpid(pid, 0)
print("child exit code", os.waitstatus_to_exitcode(st), "pids differ:", p != os.getpid())'
compare "python subprocess with pipes" cat "$PYTHON" -c '
import subprocess
print(subprocess.run(["/bin/echo", "from a child"], capture_output=True, text=True).stdout.strip())
print(subprocess.check_output("echo a b c | wc -w", shell=True).decode().strip())
print("status", subprocess.run(["/bin/sh", "-c", "exit 4"]).returncode)'
compare "wait for a child killed by a signal" cat "$PYTHON" -c '
import os, signal
pid = os.fork()
if pid == 0:
    import time
    while True: time.sleep(1)
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print("killed by", os.WTERMSIG(st))'

compare "process groups and sessions: setpgid, killpg, waitpid(-pgid), setsid" cat "$PYTHON" -c '
import os, signal
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.write(w, b"x")
    signal.pause()
    os._exit(0)
os.read(r, 1)
print("child leads its own group:", os.getpgid(pid) == pid)
os.killpg(pid, signal.SIGTERM)
_, st = os.waitpid(-pid, 0)
print("group killed by signal", os.WTERMSIG(st))
pid2 = os.fork()
if pid2 == 0:
    sid = os.setsid()
    print("new session:", sid == os.getpid(), os.getpgrp() == os.getpid(), os.getsid(0) == os.getpid())
    os._exit(0)
os.waitpid(pid2, 0)'

# make -j2 with gcc: the project is copied into the sandbox's /tmp (the host
# root is read-only inside), built and run; the host sees no build output.
# The sources are staged in the scratch directory, which the guest can see
# (a source tree under the host's /tmp would be hidden by the sandbox's /tmp).
PROJECT="$E2E_TMP/cproject"
cp -r "$SRC/tests/fixtures/cproject" "$PROJECT"
run make_native /bin/sh -c "cp -r '$PROJECT' '$E2E_TMP/native-build' && make -s -C '$E2E_TMP/native-build' -j2 && '$E2E_TMP/native-build/prog'"
run make_moat "$MOAT" do -- /bin/sh -c "cp -r '$PROJECT' /tmp/build && make -s -C /tmp/build -j2 && /tmp/build/prog"
expect_status "make -j2 and gcc build and run natively" make_native 0
expect_status "make -j2 and gcc build and run inside moat" make_moat 0
if [[ "$(out_of make_native)" == "$(out_of make_moat)" && -n "$(out_of make_moat)" ]]; then
  pass "the binary built inside moat prints what the native one does"
else
  fail "output differs: native '$(out_of make_native)', moat '$(out_of make_moat)'"
fi
if [[ ! -e "$PROJECT/prog" && ! -e "$PROJECT/main.o" ]]; then
  pass "no build output reached the host's source tree"
else
  fail "build output appeared in $PROJECT"
fi
finish
