#!/bin/bash
# Killing the sentry (SIGKILL to moat) leaves no guest host process behind:
# stub processes die with it (PR_SET_PDEATHSIG).
source "$(dirname "$0")/lib.sh"

SPIN=$(need_fixture spin)

"$MOAT" do -- "$SPIN" 30 >/dev/null 2>&1 &
moat_pid=$!
E2E_BG_PIDS+=("$moat_pid")

# Wait until the stub process exists (a child of moat).
stub=""
for _ in $(seq 1 100); do
  stub=$(pgrep -P "$moat_pid" | head -1)
  [[ -n $stub ]] && break
  sleep 0.05
done
if [[ -z $stub ]]; then
  fail "no stub process appeared under moat ($moat_pid)"
  finish
fi
pass "stub process $stub runs under moat $moat_pid"

kill -9 "$moat_pid"
gone=0
for _ in $(seq 1 100); do
  if ! kill -0 "$stub" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$stub/stat" 2>/dev/null) == Z ]]; then
    gone=1
    break
  fi
  sleep 0.05
done
if ((gone)); then
  pass "stub process died with the sentry"
else
  fail "stub process $stub outlived the SIGKILLed sentry"
  kill -9 "$stub" 2>/dev/null
fi
finish
