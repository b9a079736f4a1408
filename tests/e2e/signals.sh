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
finish
