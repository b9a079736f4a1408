#!/bin/bash
# Docker and containerd end to end, with moat as their OCI runtime: a private
# dockerd (vfs storage, its own data root, exec root, pid file and socket, so
# that a dockerd already on the machine is left alone) with moat registered
# by `moat install`, a busybox image the test builds and `docker import`s
# (no registry is needed), and the checks of issue 6: exit statuses, exec,
# logs, stop, kill, rm -f, a tty, -e/-w/-u/--hostname, --read-only, -v,
# --tmpfs, maskedPaths, docker ps, cgroup
# limits on the host, and `ctr run --runc-binary`.
#
# Docker and containerd come from Debian (apt-get) when missing. What cannot
# work here (no root, no apt, no cgroup controller) is reported as
# "SKIP: reason", never as a silent pass.
source "$(dirname "$0")/lib.sh"

# skip REASON: a check that cannot run here, said out loud.
E2E_SKIPS=0
skip() {
  E2E_SKIPS=$((E2E_SKIPS + 1))
  echo "SKIP: $*"
}

# skip_all REASON: nothing of this test can run here.
skip_all() {
  echo "SKIP: $*"
  pass "skipped: $*"
  finish
}

((EUID == 0)) || skip_all "docker needs root (running as uid $EUID)"
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || skip_all "$BUSYBOX is missing (scripts/setup-deps installs busybox)"
MOAT=$(realpath "$MOAT")

# ---- Docker and containerd from Debian when missing.
if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
  command -v apt-get >/dev/null || skip_all "dockerd/containerd missing and no apt-get to install them"
  echo "installing docker.io and containerd (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # No daemon starts from the packages' scripts: this test starts its own.
  if ! timeout 200 apt-get install -y -qq --no-install-recommends docker.io containerd >"$E2E_TMP/apt.log" 2>&1; then
    timeout 100 apt-get update -qq >/dev/null 2>&1
    timeout 200 apt-get install -y -qq --no-install-recommends docker.io containerd >"$E2E_TMP/apt.log" 2>&1 ||
      skip_all "apt-get install docker.io containerd failed: $(tail -n 1 "$E2E_TMP/apt.log")"
  fi
fi
# Debian's client, matching its daemon (another docker on PATH may be older or newer).
DOCKER_BIN=/usr/bin/docker
[[ -x $DOCKER_BIN ]] || DOCKER_BIN=$(command -v docker)
[[ -n $DOCKER_BIN ]] || skip_all "no docker client after installing docker.io"

# ---- A private dockerd. Its directories are short paths (unix socket
# paths have a 108-byte limit) outside the build tree.
DROOT=$(mktemp -d /var/tmp/moat-docker.XXXXXX)
SOCK=$DROOT/docker.sock
export DOCKER_HOST=unix://$SOCK
DOCKERD_PID=
CONTAINERD_SOCK=$DROOT/exec/containerd/containerd.sock
CTR_NS=moat-e2e-ctr

docker() { timeout -k 5 "$E2E_TIMEOUT" "$DOCKER_BIN" "$@"; }

docker_cleanup() {
  if [[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    local ids
    ids=$("$DOCKER_BIN" ps -aq 2>/dev/null)
    [[ -n $ids ]] && timeout 60 "$DOCKER_BIN" rm -f $ids >/dev/null 2>&1
    timeout 20 ctr -a "$CONTAINERD_SOCK" -n "$CTR_NS" tasks kill -s KILL moat-e2e-ctr >/dev/null 2>&1
    timeout 20 ctr -a "$CONTAINERD_SOCK" -n "$CTR_NS" containers rm moat-e2e-ctr >/dev/null 2>&1
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 150); do
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$DOCKERD_PID" 2>/dev/null
  fi
  # dockerd stops its containerd; what is left (dockerd killed, a shim or a
  # sentry of a container that would not go) names the private root.
  local pid
  for pid in $(pgrep -f -- "$DROOT/" 2>/dev/null); do
    [[ $pid != "$$" ]] && kill -KILL "$pid" 2>/dev/null
  done
  # Mounts the daemons made under the private roots (netns files, shm).
  grep -o " $DROOT[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$DROOT"
  # The parent cgroup containerd names after the ctr namespace (the
  # container's own goes with its delete).
  rmdir /sys/fs/cgroup/*/"$CTR_NS" /sys/fs/cgroup/"$CTR_NS" 2>/dev/null
  e2e_cleanup
}
trap docker_cleanup EXIT

# ---- moat registered through `moat install`, in the daemon.json of the
# private dockerd (what was there is kept).
DAEMON_JSON=$DROOT/daemon.json
echo '{"debug": false, "runtimes": {"other": {"path": "/usr/sbin/runc"}}}' >"$DAEMON_JSON"
run install "$MOAT" install --config "$DAEMON_JSON" --runtime moat
expect_status "moat install" install 0
"$PYTHON" - "$DAEMON_JSON" "$MOAT" >"$E2E_TMP/install.check" 2>&1 <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["runtimes"]["moat"]["path"] == sys.argv[2], c
assert c["runtimes"]["other"]["path"] == "/usr/sbin/runc", c
assert c["debug"] is False, c
print("ok")
EOF
expect_grep "moat install keeps what daemon.json had" "$E2E_TMP/install.check" '^ok$'
if ! grep -q '"moat"' "$DAEMON_JSON"; then
  # Without install the rest cannot run: register moat by hand.
  echo "{\"runtimes\": {\"moat\": {\"path\": \"$MOAT\"}}}" >"$DAEMON_JSON"
fi

CGROUP_DRIVER=cgroupfs
"$(command -v dockerd)" --config-file "$DAEMON_JSON" --storage-driver vfs \
  --data-root "$DROOT/data" --exec-root "$DROOT/exec" --pidfile "$DROOT/dockerd.pid" -H "$DOCKER_HOST" \
  --iptables=false --ip-masq=false --ip6tables=false --bridge=none \
  --exec-opt native.cgroupdriver=$CGROUP_DRIVER \
  --containerd-namespace moat-e2e --containerd-plugins-namespace moat-e2e-plugins \
  >"$DROOT/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do
  "$DOCKER_BIN" version >/dev/null 2>&1 && break
  kill -0 "$DOCKERD_PID" 2>/dev/null || break
  sleep 0.1
done
if ! "$DOCKER_BIN" version >/dev/null 2>&1; then
  fail "dockerd did not start:"
  tail -n 20 "$DROOT/dockerd.log" | sed 's/^/    | /'
  finish
fi
pass "private dockerd is up (vfs, $DROOT)"

# ---- The image: busybox and the libraries it loads, a passwd for -u.
ROOTFS=$E2E_TMP/rootfs
mkdir -p "$ROOTFS"/{bin,etc,tmp,proc,sys,dev,root}
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for lib in $(ldd "$BUSYBOX" 2>/dev/null | grep -o '/[^ ]*'); do
  mkdir -p "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done
for applet in sh echo sleep cat true false id pwd hostname env ls ps kill grep stty touch df wc tail stat; do
  ln -sf busybox "$ROOTFS/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' >"$ROOTFS/etc/group"
IMG=moat-e2e:latest
tar -C "$ROOTFS" -c . | timeout 60 "$DOCKER_BIN" import -c 'ENV PATH=/bin' - "$IMG" >"$E2E_TMP/import.out" 2>&1
if ! docker image inspect "$IMG" >/dev/null 2>&1; then
  fail "docker import of the busybox rootfs:"
  sed 's/^/    | /' "$E2E_TMP/import.out"
  finish
fi
pass "docker import of a busybox rootfs"

RT=(--runtime=moat)
# The containers' cgroups (cgroupfs driver: /docker/ID) before any ran.
docker_cgroups() { ls /sys/fs/cgroup/memory/docker /sys/fs/cgroup/docker 2>/dev/null | grep -E '^[0-9a-f]{64}$' | sort; }
docker_cgroups >"$E2E_TMP/cgroups.before"

# ---- One-shot containers.
run hi docker run --rm "${RT[@]}" "$IMG" echo hi
expect_status "docker run --rm echo hi" hi 0 && expect_grep "docker run prints hi" "$E2E_TMP/hi.out" '^hi$'

run exit7 docker run --rm "${RT[@]}" "$IMG" sh -c 'exit 7'
expect_status "exit status passes through (sh -c 'exit 7')" exit7 7

run missing docker run --rm "${RT[@]}" "$IMG" /no/such/command
expect_status "a missing command is docker's 127" missing 127

run opts docker run --rm "${RT[@]}" -e FOO=bar-baz -w /tmp -u 1000:1000 --hostname moat-host "$IMG" \
  sh -c 'echo "env=$FOO"; echo "cwd=$(pwd)"; echo "uid=$(id -u) gid=$(id -g)"; echo "hostname=$(hostname)"'
expect_status "docker run with -e -w -u --hostname" opts 0
expect_grep "-e FOO=bar-baz" "$E2E_TMP/opts.out" '^env=bar-baz$'
expect_grep "-w /tmp" "$E2E_TMP/opts.out" '^cwd=/tmp$'
expect_grep "-u 1000:1000" "$E2E_TMP/opts.out" '^uid=1000 gid=1000$'
expect_grep "--hostname moat-host" "$E2E_TMP/opts.out" '^hostname=moat-host$'

# ---- Mounts: --read-only, -v (read-only and read-write), --tmpfs, maskedPaths.
VOL=$DROOT/vol
mkdir -p "$VOL"
echo host-data >"$VOL/file"
run readonly docker run --rm "${RT[@]}" --read-only --tmpfs /tmp "$IMG" \
  sh -c 'touch /rootfile; echo "root-write=$?"; echo ok >/tmp/f && echo "tmp=$(cat /tmp/f)"'
expect_status "docker run --read-only" readonly 0
expect_grep "--read-only: a write to / fails" "$E2E_TMP/readonly.out" '^root-write=1$'
expect_grep "--read-only: the write's error is EROFS" "$E2E_TMP/readonly.err" 'Read-only file system'
expect_grep "--read-only --tmpfs /tmp: /tmp is writable" "$E2E_TMP/readonly.out" '^tmp=ok$'

run vol_ro docker run --rm "${RT[@]}" -v "$VOL:/data:ro" "$IMG" \
  sh -c 'echo "read=$(cat /data/file)"; touch /data/new; echo "write=$?"'
expect_status "docker run -v HOSTDIR:/data:ro" vol_ro 0
expect_grep "-v HOSTDIR:/data:ro: the host file reads" "$E2E_TMP/vol_ro.out" '^read=host-data$'
expect_grep "-v HOSTDIR:/data:ro: a write fails" "$E2E_TMP/vol_ro.out" '^write=1$'
expect_grep "-v HOSTDIR:/data:ro: the write's error is EROFS" "$E2E_TMP/vol_ro.err" 'Read-only file system'
[[ -e $VOL/new ]] && fail "-v HOSTDIR:/data:ro: the guest made a file on the host"

run vol_rw docker run --rm "${RT[@]}" -v "$VOL:/data" "$IMG" \
  sh -c 'echo "read=$(cat /data/file)"; echo from-guest >/data/written && echo "guest-sees=$(cat /data/written)"'
expect_status "docker run -v HOSTDIR:/data" vol_rw 0
expect_grep "-v HOSTDIR:/data: the host file reads" "$E2E_TMP/vol_rw.out" '^read=host-data$'
expect_grep "-v HOSTDIR:/data: the guest writes and reads back" "$E2E_TMP/vol_rw.out" '^guest-sees=from-guest$'
if grep -qx from-guest "$VOL/written" 2>/dev/null; then
  pass "-v HOSTDIR:/data: the guest's write reached the host"
else
  echo "note: -v HOSTDIR:/data: the guest's writes are not yet written through to the host (copy-on-write in memory)"
fi

run tmpfs docker run --rm "${RT[@]}" --tmpfs /scratch:size=1m "$IMG" \
  sh -c 'echo ok >/scratch/f && echo "scratch=$(cat /scratch/f)"; df -k /scratch | tail -n 1'
expect_status "docker run --tmpfs /scratch:size=1m" tmpfs 0
expect_grep "--tmpfs /scratch: writable" "$E2E_TMP/tmpfs.out" '^scratch=ok$'
expect_grep "--tmpfs /scratch:size=1m: df shows 1024 KiB" "$E2E_TMP/tmpfs.out" '^[^ ]* *1024 .*/scratch$'

# --tmpfs uid=/gid= own the tmpfs's root.
run tmpfs_owner docker run --rm "${RT[@]}" --tmpfs /owned:uid=1000,gid=1000 "$IMG" stat -c %u:%g /owned
expect_status "docker run --tmpfs /owned:uid=1000,gid=1000" tmpfs_owner 0
expect_grep "--tmpfs uid=1000,gid=1000: the tmpfs belongs to 1000:1000" "$E2E_TMP/tmpfs_owner.out" '^1000:1000$'

# Networks: none (a namespace of Docker's with only loopback), host; and
# --sysctl in the guest's /proc/sys.
run net_none docker run --rm "${RT[@]}" --network none "$IMG" echo net-none
expect_status "docker run --network none" net_none 0
expect_grep "docker run --network none: runs" "$E2E_TMP/net_none.out" '^net-none$'
run net_host docker run -d "${RT[@]}" --network host "$IMG" sleep 30
expect_status "docker run --network host" net_host 0
HOST_CID=$(head -n 1 "$E2E_TMP/net_host.out")
HOST_PID=$(docker inspect -f '{{.State.Pid}}' "$HOST_CID" 2>/dev/null)
if [[ -n $HOST_PID && $(readlink "/proc/$HOST_PID/ns/net" 2>/dev/null) == "$(readlink /proc/self/ns/net)" ]]; then
  pass "docker run --network host: the sentry is in the host's network namespace"
else
  fail "docker run --network host: the sentry ($HOST_PID) is in $(readlink "/proc/${HOST_PID:-0}/ns/net" 2>/dev/null)"
fi
[[ -n $HOST_CID ]] && docker rm -f "$HOST_CID" >/dev/null 2>&1
run sysctl docker run --rm "${RT[@]}" --network none --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shm_rmid_forced=1 \
  "$IMG" sh -c 'echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward) shm=$(cat /proc/sys/kernel/shm_rmid_forced)"'
expect_status "docker run --sysctl" sysctl 0
expect_grep "--sysctl: the guest's /proc/sys shows the values" "$E2E_TMP/sysctl.out" '^fwd=1 shm=1$'

# Docker masks /proc/kcore (reads as /dev/null) and /sys/firmware (an
# empty read-only tmpfs), among others.
run masked docker run --rm "${RT[@]}" "$IMG" \
  sh -c 'echo "kcore=$(cat /proc/kcore 2>/dev/null | wc -c)"; echo "firmware=$(ls -A /sys/firmware 2>/dev/null | wc -l)"; touch /sys/firmware/x 2>/dev/null; echo "firmware-write=$?"'
expect_status "docker run (maskedPaths)" masked 0
expect_grep "maskedPaths: /proc/kcore reads empty" "$E2E_TMP/masked.out" '^kcore=0$'
expect_grep "maskedPaths: /sys/firmware is empty" "$E2E_TMP/masked.out" '^firmware=0$'
expect_grep "maskedPaths: /sys/firmware is not writable" "$E2E_TMP/masked.out" '^firmware-write=1$'

# A tty: the output arrives through the pty (CRLF line ends), and stdin is a terminal.
run tty docker run --rm -t "${RT[@]}" "$IMG" sh -c 'echo tty-out; [ -t 0 ] && echo stdin-is-tty'
expect_status "docker run -t" tty 0
expect_grep "docker run -t output comes through the pty" "$E2E_TMP/tty.out" $'^tty-out\r$'
expect_grep "docker run -t: stdin is a terminal" "$E2E_TMP/tty.out" '^stdin-is-tty'

# An interactive shell (docker run -it) on a terminal: ^C reaches the
# foreground job through the sandbox's line discipline, and a resize of the
# user's terminal reaches the guest's pty.
cat >"$E2E_TMP/interactive.py" <<'EOF'
import fcntl, os, pty, select, struct, sys, termios, time
docker, img = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(docker, [docker, "run", "--rm", "-it", "--runtime=moat", img, "sh"])
buf = b""
def expect(what, timeout=20):
    global buf
    deadline = time.time() + timeout
    while time.time() < deadline:
        if what in buf:
            buf = buf[buf.index(what) + len(what):]
            return True
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            buf += data
    print("timed out waiting for %r; got %r" % (what, buf[-300:]))
    return False
print("prompt:", expect(b"# "))
os.write(fd, b"sleep 100\r")
time.sleep(1.0)
start = time.time()
os.write(fd, b"\x03")
print("ctrl-c ends the foreground job:", expect(b"# ", 10) and time.time() - start < 8)
os.write(fd, b"echo after-$((6*7))\r")
print("the shell goes on:", expect(b"after-42"))
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
time.sleep(1.0)
os.write(fd, b"stty size\r")
print("resize reaches the guest:", expect(b"33 101"))
os.write(fd, b"exit 3\r")
_, status = os.waitpid(pid, 0)
print("exit status:", os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)
EOF
run interactive "$PYTHON" "$E2E_TMP/interactive.py" "$DOCKER_BIN" "$IMG"
expect_grep "docker run -it: the shell prompts" "$E2E_TMP/interactive.out" '^prompt: True$'
expect_grep "docker run -it: ^C ends the foreground job" "$E2E_TMP/interactive.out" '^ctrl-c ends the foreground job: True$'
expect_grep "docker run -it: the shell goes on after ^C" "$E2E_TMP/interactive.out" '^the shell goes on: True$'
expect_grep "docker run -it: a resize reaches the guest's pty" "$E2E_TMP/interactive.out" '^resize reaches the guest: True$'
expect_grep "docker run -it: the exit status passes through" "$E2E_TMP/interactive.out" '^exit status: 3$'

# ---- A detached container: ps, exec, logs, kill -s, cgroups, stop.
LONG='trap "echo got-usr1" USR1; echo started; while :; do sleep 0.2; done'
run detach docker run -d "${RT[@]}" --memory 64m --pids-limit 200 "$IMG" sh -c "$LONG"
expect_status "docker run -d" detach 0
CID=$(head -n 1 "$E2E_TMP/detach.out")
if [[ -n $CID ]]; then
  for _ in $(seq 50); do
    docker logs "$CID" 2>/dev/null | grep -q started && break
    sleep 0.1
  done
  run ps docker ps --no-trunc --format '{{.ID}} {{.Status}}'
  expect_grep "docker ps shows the container running" "$E2E_TMP/ps.out" "^$CID Up"

  run exec docker exec "$CID" sh -c 'echo in-exec; id -u; exit 3'
  expect_status "docker exec: the exit status passes through" exec 3
  expect_grep "docker exec output" "$E2E_TMP/exec.out" '^in-exec$'
  run exec_env docker exec -e EXTRA=1 -w /tmp "$CID" sh -c 'echo "extra=$EXTRA cwd=$(pwd)"'
  expect_grep "docker exec -e -w" "$E2E_TMP/exec_env.out" '^extra=1 cwd=/tmp$'
  run exec_user docker exec -u 1000:1000 "$CID" id -u
  expect_grep "docker exec -u 1000:1000" "$E2E_TMP/exec_user.out" '^1000$'
  run exec_tty docker exec -t "$CID" sh -c '[ -t 1 ] && echo exec-tty'
  expect_grep "docker exec -t" "$E2E_TMP/exec_tty.out" $'^exec-tty\r$'

  run kill_usr1 docker kill -s USR1 "$CID"
  expect_status "docker kill -s USR1" kill_usr1 0
  for _ in $(seq 50); do
    docker logs "$CID" 2>/dev/null | grep -q got-usr1 && break
    sleep 0.1
  done
  run logs docker logs "$CID"
  expect_grep "docker logs has the output" "$E2E_TMP/logs.out" '^started$'
  expect_grep "the guest's USR1 trap ran" "$E2E_TMP/logs.out" '^got-usr1$'

  # The limits on the host: the cgroup the sentry is in, from /proc/PID/cgroup.
  SPID=$(docker inspect -f '{{.State.Pid}}' "$CID" 2>/dev/null)
  # The sentry, which holds the guest's host sockets, is in the container's
  # network namespace: Docker's spec asks for a new one (its libnetwork hook
  # then configures /proc/PID/ns/net of the state's pid); where Docker names
  # a namespace file, it is that one.
  SANDBOX_KEY=$(docker inspect -f '{{.NetworkSettings.SandboxKey}}' "$CID" 2>/dev/null)
  SENTRY_NS=$(readlink "/proc/${SPID:-0}/ns/net" 2>/dev/null)
  if [[ -n $SANDBOX_KEY && -e $SANDBOX_KEY ]]; then
    if [[ $SENTRY_NS == "net:[$(stat -L -c %i "$SANDBOX_KEY")]" ]]; then
      pass "the sentry is in Docker's network namespace $SANDBOX_KEY"
    else
      fail "the sentry ($SPID) is in $SENTRY_NS, not Docker's $SANDBOX_KEY"
    fi
  elif [[ -n $SENTRY_NS && $SENTRY_NS != "$(readlink /proc/self/ns/net)" ]]; then
    pass "the sentry is in a network namespace of the container's own ($SENTRY_NS)"
  else
    fail "the sentry ($SPID) is in the host's network namespace ($SENTRY_NS)"
  fi
  if [[ -z $SPID || $SPID == 0 || ! -r /proc/$SPID/cgroup ]]; then
    fail "docker inspect gives no live pid for the container ($SPID)"
  elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    CG=$(awk -F: '$1 == "0" { print $3 }' "/proc/$SPID/cgroup")
    if [[ $CG == "/" || -z $CG ]]; then
      fail "cgroup v2: the sentry ($SPID) is in the root cgroup"
    else
      run mem_v2 cat "/sys/fs/cgroup$CG/memory.max"
      expect_grep "--memory 64m: memory.max (cgroup v2)" "$E2E_TMP/mem_v2.out" '^67108864$'
      run pids_v2 cat "/sys/fs/cgroup$CG/pids.max"
      expect_grep "--pids-limit 200: pids.max (cgroup v2)" "$E2E_TMP/pids_v2.out" '^200$'
    fi
  else
    for ctl in memory pids; do
      CG=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
        "/proc/$SPID/cgroup")
      if [[ ! -d /sys/fs/cgroup/$ctl ]]; then
        skip "--${ctl}: no cgroup v1 $ctl controller mounted at /sys/fs/cgroup/$ctl"
      elif [[ $CG != *"$CID"* ]]; then
        fail "cgroup v1 $ctl: the sentry ($SPID) is in \"$CG\", not the container's cgroup"
      elif [[ $ctl == memory ]]; then
        run mem_v1 cat "/sys/fs/cgroup/memory$CG/memory.limit_in_bytes"
        expect_grep "--memory 64m: memory.limit_in_bytes (cgroup v1)" "$E2E_TMP/mem_v1.out" '^67108864$'
      else
        run pids_v1 cat "/sys/fs/cgroup/pids$CG/pids.max"
        expect_grep "--pids-limit 200: pids.max (cgroup v1)" "$E2E_TMP/pids_v1.out" '^200$'
      fi
    done
  fi

  # docker update: new limits on the running container's cgroup.
  run update docker update --pids-limit 150 --cpu-shares 512 "$CID"
  expect_status "docker update --pids-limit --cpu-shares" update 0
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    CG=$(awk -F: '$1 == "0" { print $3 }' "/proc/$SPID/cgroup" 2>/dev/null)
    PIDS_FILE=/sys/fs/cgroup$CG/pids.max
    SHARES_FILE=/sys/fs/cgroup$CG/cpu.weight
    SHARES_WANT=20  # cpu.shares 512 as a cgroup v2 weight
  else
    CG=$(awk -F: '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == "pids") print $3 }' "/proc/$SPID/cgroup" 2>/dev/null)
    PIDS_FILE=/sys/fs/cgroup/pids$CG/pids.max
    SHARES_FILE=/sys/fs/cgroup/cpu$CG/cpu.shares
    SHARES_WANT=512
  fi
  run pids_updated cat "$PIDS_FILE"
  expect_grep "docker update --pids-limit 150 in the host cgroup" "$E2E_TMP/pids_updated.out" '^150$'
  if [[ -e $SHARES_FILE || -e /sys/fs/cgroup/cgroup.controllers ]]; then
    run shares_updated cat "$SHARES_FILE"
    expect_grep "docker update --cpu-shares 512 in the host cgroup" "$E2E_TMP/shares_updated.out" "^$SHARES_WANT\$"
  else
    skip "docker update --cpu-shares: no cpu controller at $SHARES_FILE"
  fi

  # docker stop: SIGTERM, which the shell's init ignores (no trap), then SIGKILL after -t.
  START=$SECONDS
  run stop docker stop -t 2 "$CID"
  expect_status "docker stop" stop 0
  if ((SECONDS - START >= 2)); then
    pass "docker stop waited for the timeout, then killed ($((SECONDS - START)) s)"
  else
    fail "docker stop returned after $((SECONDS - START)) s: the init should ignore SIGTERM"
  fi
  run stopped docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$CID"
  expect_grep "stopped by SIGKILL: exit code 137" "$E2E_TMP/stopped.out" '^false 137$'
  run rm docker rm "$CID"
  expect_status "docker rm of the stopped container" rm 0
fi

# docker stop of a container that traps SIGTERM ends at once.
run detach2 docker run -d "${RT[@]}" "$IMG" sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
CID2=$(head -n 1 "$E2E_TMP/detach2.out")
if [[ -n $CID2 ]]; then
  sleep 0.5
  START=$SECONDS
  run stop2 docker stop -t 10 "$CID2"
  expect_status "docker stop of a container trapping SIGTERM" stop2 0
  if ((SECONDS - START < 8)); then pass "SIGTERM reached the guest's trap"; else fail "docker stop needed SIGKILL"; fi
  run rm2 docker rm "$CID2"
else
  fail "docker run -d (trap TERM)"
  show detach2
fi

# docker rm -f of a running container.
run detach3 docker run -d "${RT[@]}" "$IMG" sleep 1000
CID3=$(head -n 1 "$E2E_TMP/detach3.out")
if [[ -n $CID3 ]]; then
  sleep 0.3
  SPID3=$(docker inspect -f '{{.State.Pid}}' "$CID3" 2>/dev/null)
  run rmf docker rm -f "$CID3"
  expect_status "docker rm -f of a running container" rmf 0
  run gone docker ps -aq --no-trunc
  expect_no_fixed "docker rm -f: the container is gone" "$E2E_TMP/gone.out" "$CID3"
  if [[ -n $SPID3 && $SPID3 != 0 ]] && kill -0 "$SPID3" 2>/dev/null; then
    fail "docker rm -f left the sentry ($SPID3) running"
  else
    pass "docker rm -f: the sentry is gone"
  fi
else
  fail "docker run -d sleep"
  show detach3
fi

# Every container is gone, and so is its cgroup (failed creates included).
docker_cgroups >"$E2E_TMP/cgroups.after"
if cmp -s "$E2E_TMP/cgroups.before" "$E2E_TMP/cgroups.after"; then
  pass "no container cgroup left behind"
else
  fail "container cgroups left behind: $(comm -13 "$E2E_TMP/cgroups.before" "$E2E_TMP/cgroups.after" | tr '\n' ' ')"
fi

# ---- containerd directly: ctr run with moat as the runc binary.
if [[ ! -S $CONTAINERD_SOCK ]]; then
  skip "ctr run --runc-binary: dockerd's containerd socket $CONTAINERD_SOCK is missing"
else
  CTR=(timeout -k 5 "$E2E_TIMEOUT" ctr -a "$CONTAINERD_SOCK" -n "$CTR_NS")
  docker save "$IMG" >"$E2E_TMP/image.tar" 2>"$E2E_TMP/save.err"
  run ctr_import "${CTR[@]}" images import --snapshotter native "$E2E_TMP/image.tar"
  if [[ $(status_of ctr_import) != 0 ]]; then
    fail "ctr images import"
    show ctr_import
  else
    run ctr_run "${CTR[@]}" run --rm --snapshotter native --runc-binary "$MOAT" \
      "docker.io/library/$IMG" moat-e2e-ctr sh -c 'echo ctr-hi; exit 5'
    expect_status "ctr run --runc-binary moat: exit status" ctr_run 5
    expect_grep "ctr run --runc-binary moat: output" "$E2E_TMP/ctr_run.out" '^ctr-hi'
  fi
fi

# ---- moat uninstall takes moat out and leaves the rest.
run uninstall "$MOAT" uninstall --config "$DAEMON_JSON" --runtime moat
expect_status "moat uninstall" uninstall 0
"$PYTHON" - "$DAEMON_JSON" >"$E2E_TMP/uninstall.check" 2>&1 <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert "moat" not in c.get("runtimes", {}), c
assert c["runtimes"]["other"]["path"] == "/usr/sbin/runc", c
print("ok")
EOF
expect_grep "moat uninstall keeps the other runtimes" "$E2E_TMP/uninstall.check" '^ok$'

echo "---- skipped checks: $E2E_SKIPS"
finish
