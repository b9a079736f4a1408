#!/bin/bash
# Guest signal handlers: frames built on the guest stack (or alternate stack)
# as Linux builds them, handlers that change the interrupted context, masks,
# pending signals, SA_RESETHAND, default actions; Python's signal module.
source "$(dirname "$0")/lib.sh"

SIGNALS=$(need_fixture signals)
compare "C: siginfo, modified context, altstack, masks, pending, default action" cat "$SIGNALS"
FAULTS=$(need_fixture faults)
compare "faults: SIGSEGV and SIGFPE to handlers, then the default action" cat "$FAULTS"
compare "python: handlers, SIGCHLD, SIG_IGN" cat "$PYTHON" -c '
import os, signal
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.kill(os.getpid(), signal.SIGUSR1)
signal.signal(signal.SIGCHLD, lambda s, f: got.append("chld"))
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.kill(os.getpid(), signal.SIGTERM)
print(got, "still here")'
compare "signals interrupt pause() and sleeps (handlers run, sleeps resume)" cat "$PYTHON" -c '
import os, signal, time
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
parent = os.getpid()
pid = os.fork()
if pid == 0:
    time.sleep(0.2); os.kill(parent, signal.SIGUSR1)
    time.sleep(0.2); os.kill(parent, signal.SIGUSR1)
    os._exit(0)
t0 = time.monotonic()
signal.pause()
print("pause returned after the handler:", got == [signal.SIGUSR1])
time.sleep(0.5)
print("sleep completed, handlers:", len(got), "slept >= 0.5:", time.monotonic() - t0 >= 0.5)
os.waitpid(pid, 0)'
compare "alarm and setitimer deliver SIGALRM (interval timers, pause, restarted sleeps)" cat "$PYTHON" -c '
import signal, time
got = []
signal.signal(signal.SIGALRM, lambda s, f: got.append(1))
signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
while len(got) < 3:
    signal.pause()
signal.setitimer(signal.ITIMER_REAL, 0)
print("interval timer fired 3 times:", len(got))
print("alarm returns previous:", signal.alarm(5), signal.alarm(0))
signal.alarm(1)
t1 = time.monotonic()
time.sleep(2)
print("sleep not cut short by a handled alarm:", time.monotonic() - t1 >= 1.9, len(got))'
compare "a signal interrupts guest code that makes no syscalls" cat "$PYTHON" -c '
import signal, time
got = []
signal.signal(signal.SIGALRM, lambda s, f: got.append(1))
signal.setitimer(signal.ITIMER_REAL, 0.05)
t0 = time.monotonic()
while not got and time.monotonic() - t0 < 5:
    pass
print("alarm interrupted a busy loop:", bool(got))'
finish
