#!/bin/bash
# A fork bomb stops inside the sandbox: fork fails with EAGAIN at the
# sandbox's task limit, the guest can still reap and fork, and no host
# process is left behind.
# About 1000 forks, each slower as the sandbox fills (the workers poll every
# process's ring): 25 s on a quiet 2-vCPU VM, over 60 s under load.
E2E_TIMEOUT=${E2E_TIMEOUT:-180}
source "$(dirname "$0")/lib.sh"

before=$(ps -e --no-headers | wc -l)
run bomb "$MOAT" do -- "$PYTHON" -c '
import os, signal
kids = []
try:
    for i in range(5000):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        kids.append(pid)
except BlockingIOError:
    pass
print("stopped with EAGAIN:", 0 < len(kids) < 5000)
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
pid = os.fork()
if pid == 0:
    os._exit(0)
print("forking works again:", os.waitpid(pid, 0)[0] == pid)'
expect_status "the fork bomb's guest exits normally" bomb 0
expect_grep "fork fails with EAGAIN inside the sandbox" "$E2E_TMP/bomb.out" '^stopped with EAGAIN: True$'
expect_grep "the guest recovers" "$E2E_TMP/bomb.out" '^forking works again: True$'
sleep 1
after=$(ps -e --no-headers | wc -l)
if ((after <= before + 2)); then
  pass "no host processes left behind ($before before, $after after)"
else
  fail "host processes grew from $before to $after"
fi
finish
