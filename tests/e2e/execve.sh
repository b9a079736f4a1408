#!/bin/bash
# execve replaces the process image inside the sandbox: the same pid, the new
# program's output and status; failed execs return the caller's errno.
source "$(dirname "$0")/lib.sh"

HELLO_STATIC=$(need_fixture hello_static)

compare "env execs python3" cat /usr/bin/env "$PYTHON" -c 'import os; print("after exec, same pid:", os.getpid() == os.getpid())'
compare "busybox sh: exec replaces the shell" cat /bin/busybox sh -c 'exec /bin/echo exec from sh'
compare "exec of a static binary keeps argv" cat "$PYTHON" -c "import os; os.execv('$HELLO_STATIC', ['hello', 'a', 'b'])"
compare "exec status comes through" cat "$PYTHON" -c "import os; os.execv('/bin/sh', ['sh', '-c', 'exit 5'])" 
compare "failed execs return errno" cat "$PYTHON" -c '
import os
for path in ["/nonexistent", "/etc/passwd", "/etc"]:
    try:
        os.execv(path, ["x"])
    except OSError as e:
        print(path, e.errno)
'
compare "close-on-exec fds are closed, others stay" cat "$PYTHON" -c '
import os, sys
r, w = os.pipe()
os.set_inheritable(w, True)
# Names, not numbers: fds the test runner leaves open shift the numbers natively.
check = "import os, sys\nfor name, fd in zip([\"inheritable\", \"cloexec\"], sys.argv[1:]):\n    try:\n        os.fstat(int(fd)); print(name, \"open\")\n    except OSError as e:\n        print(name, \"closed\", e.errno)\n"
os.execv(sys.executable, [sys.executable, "-c", check, str(w), str(r)])
'
finish
