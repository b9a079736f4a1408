#!/bin/bash
# Threads inside one guest process: C++ std::thread (clone, futex, join),
# Python's threading, and a Go program (goroutines, channels, timers through
# epoll, os/exec, os/signal) built with Debian's golang-go, which is installed
# when missing (as root with apt-get, the way CI runs).
source "$(dirname "$0")/lib.sh"

THREADS=$(need_fixture threads)
compare "C++ std::thread, mutex, condition variable, join" cat "$THREADS"
THREADS_MMAP=$(need_fixture threads_mmap)
compare "threads mapping and unmapping memory at once" cat "$THREADS_MMAP"
compare "python threading, queue, Event and Timer" cat "$PYTHON" -c '
import threading, queue, time
q = queue.Queue()
def worker(n):
    time.sleep(0.01)
    q.put(n * n)
ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(q.get() for _ in range(8)))
ev = threading.Event()
threading.Timer(0.05, ev.set).start()
print("event", ev.wait(2))'

if ! command -v go >/dev/null 2>&1 && ((EUID == 0)) && command -v apt-get >/dev/null; then
  echo "installing golang-go for the Go program"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends golang-go \
    >"$E2E_TMP/apt.log" 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends golang-go \
        >"$E2E_TMP/apt.log" 2>&1; } || sed 's/^/    | /' "$E2E_TMP/apt.log" | tail -n 5
fi
if command -v go >/dev/null 2>&1; then
  mkdir -p "$E2E_TMP/go" && cp "$SRC"/tests/fixtures/goprog/* "$E2E_TMP/go/"
  if (cd "$E2E_TMP/go" && GOFLAGS=-mod=mod GOCACHE="$E2E_TMP/gocache" go build -o goprog . 2>"$E2E_TMP/go/build.err"); then
    compare "Go: goroutines, channels, timers, os/exec, os/signal" cat "$E2E_TMP/go/goprog"
  else
    fail "go build of the Go fixture failed: $(head -3 "$E2E_TMP/go/build.err")"
  fi
else
  fail "golang-go is not installed and could not be installed: the Go program did not run"
fi
finish
