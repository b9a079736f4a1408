#!/bin/bash
# `moat do -t`: the guest gets a pty inside the sandbox bridged to the
# caller's terminal. Without a terminal, -t refuses with docker's status 125.
# With one (python3's pty module plays the user's terminal), the guest sees
# /dev/pts/N, the window size, line editing and echo from the sandbox's line
# discipline, ^C and ^\ as signals, SIGWINCH on a resize, and the user's
# terminal comes back as it was.
source "$(dirname "$0")/lib.sh"

# 1. No terminal: a clear refusal, status 125, the command never runs.
run no_tty "$MOAT" do -t -- /bin/sh -c 'echo ran'
expect_status "-t without a terminal is refused" no_tty 125
expect_grep "the refusal says why" "$E2E_TMP/no_tty.err" 'not a TTY'
expect_no_fixed "the command did not run" "$E2E_TMP/no_tty.out" ran

# The terminal driver: runs moat do -t -- ARGS... on a fresh pty, feeds it
# input steps, and reports what the terminal showed as JSON.
DRIVER=$E2E_TMP/drive_pty.py
cat >"$DRIVER" <<'EOF'
import fcntl, json, os, pty, select, struct, sys, termios, time

# argv: moat, steps (JSON list of [wait_for_text, action]), then the command.
# An action is text to type, or [rows, cols] for a resize.
moat, steps = sys.argv[1], json.loads(sys.argv[2])
command = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(moat, [moat, "do", "-t", "--"] + command)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
before = termios.tcgetattr(fd)
out = b""
deadline = time.time() + 20
status = None
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            break
        out += data
    if steps and steps[0][0].encode() in out:
        _, action = steps.pop(0)
        time.sleep(0.3)  # let the guest get to its next read or wait
        if isinstance(action, list):
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", action[0], action[1], 0, 0))
        else:
            os.write(fd, action.encode())
restored = None
try:
    restored = termios.tcgetattr(fd) == before
except termios.error:
    pass
if time.time() >= deadline:
    os.kill(pid, 9)
_, st = os.waitpid(pid, 0)
print(json.dumps({"out": out.decode(errors="replace"), "status": os.waitstatus_to_exitcode(st),
                  "restored": restored, "timed_out": time.time() >= deadline}))
EOF

# drive NAME STEPS CMD...: runs the driver, leaving its JSON in $E2E_TMP/NAME.json.
drive() {
  local name=$1 steps=$2
  shift 2
  timeout -k 5 "$E2E_TIMEOUT" "$PYTHON" "$DRIVER" "$MOAT" "$steps" "$@" >"$E2E_TMP/$name.json" 2>"$E2E_TMP/$name.err"
}
field() { "$PYTHON" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v if not isinstance(v, bool) else str(v).lower())' "$E2E_TMP/$1.json" "$2" 2>/dev/null; }
# check NAME LABEL PY_EXPR: the expression holds of the result r.
check() {
  local name=$1 label=$2 expr=$3
  if "$PYTHON" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$E2E_TMP/$name.json" 2>/dev/null; then
    pass "$label"
  else
    fail "$label"
    echo "  result: $(cat "$E2E_TMP/$name.json" 2>/dev/null)"
    head -n 10 "$E2E_TMP/$name.err" | sed 's/^/    | /'
  fi
}

# 2. tty names a /dev/pts path; stty sees the window size of the user's terminal.
drive tty_size '[]' /bin/sh -c 'tty; stty size'
check tty_size "tty prints a /dev/pts path" '"/dev/pts/" in r["out"] and r["status"] == 0'
check tty_size "stty size reports the caller's window" '"24 80" in r["out"]'
check tty_size "the caller's terminal is restored" 'r["restored"] is True'

# 3. Canonical input with line editing and echo: cat gets the edited line.
drive cat_edit '[["ready", "helx\u007flo\r"], ["lo\r\nhello", "\u0004"]]' /bin/sh -c 'echo ready; exec cat'
check cat_edit "typing is echoed, the erase rubbed out" '"helx\b \blo\r\n" in r["out"]'
check cat_edit "cat gets the edited line, ^D ends its input" '"\nhello\r\n" in r["out"] and r["status"] == 0'

# 4. ^C kills the foreground command with SIGINT (status 130), ^\ with SIGQUIT.
drive ctrl_c '[["ready", "\u0003"]]' /bin/sh -c 'echo ready; exec sleep 30'
check ctrl_c "^C ends the command with SIGINT" 'r["status"] == 130 and not r["timed_out"]'
check ctrl_c "^C echoes as ^C" '"^C" in r["out"]'
drive ctrl_backslash '[["ready", "\u001c"]]' /bin/sh -c 'echo ready; exec sleep 30'
check ctrl_backslash "^\\ ends the command with SIGQUIT" 'r["status"] == 131'

# 5. A resize of the user's terminal reaches the guest as SIGWINCH.
drive winch '[["ready", [50, 120]]]' /bin/sh -c 'trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.1; done'
check winch "a resize sends SIGWINCH with the new size" '"50 120" in r["out"] and r["status"] == 0'

# 6. The guest's exit status comes through; output written just before the
# exit is not lost.
drive status '[]' /bin/sh -c 'i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done; exit 7'
check status "the command's exit status comes through" 'r["status"] == 7'
check status "all of its output reaches the terminal" '"line199" in r["out"]'

finish
