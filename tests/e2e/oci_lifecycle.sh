#!/bin/bash
# The OCI runtime commands as containerd's shim and runc users drive them:
# create (the guest waits), start, state, ps, list, kill, delete, run (the
# exit status passes through), and the error cases of the runtime spec's
# Lifecycle and Operations. When Debian's runc is installed (or installable)
# the same scenario runs through runc too and the observations must agree.
source "$(dirname "$0")/lib.sh"

BUSYBOX=/bin/busybox
if [[ ! -x $BUSYBOX ]]; then
  echo "SKIP: $BUSYBOX is missing (scripts/setup-deps installs busybox)"
  pass "skipped: no busybox"
  finish
fi

# Containers left running by a failed check are ended with the test.
MOAT_ROOT=$E2E_TMP/moat-state
RUNC_ROOT=$E2E_TMP/runc-state
oci_cleanup() {
  local dir
  for dir in "$MOAT_ROOT"/*/; do
    [[ -d $dir ]] && "$MOAT" --root "$MOAT_ROOT" delete --force "$(basename "$dir")" >/dev/null 2>&1
  done
  if command -v runc >/dev/null; then
    for dir in "$RUNC_ROOT"/*/; do
      [[ -d $dir ]] && runc --root "$RUNC_ROOT" delete --force "$(basename "$dir")" >/dev/null 2>&1
    done
  fi
  [[ -n ${NETNS:-} ]] && ip netns delete "$NETNS" >/dev/null 2>&1
  e2e_cleanup
}
trap oci_cleanup EXIT

# ---- A bundle: a root filesystem holding busybox and the libraries it
# loads, and a config.json from `moat spec` with the command and flags set.
ROOTFS=$E2E_TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/tmp"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for lib in $(ldd "$BUSYBOX" 2>/dev/null | grep -o '/[^ ]*'); do
  mkdir -p "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done
for applet in sh echo sleep cat true false id pwd touch stat df awk tail wc ls; do
  ln -sf busybox "$ROOTFS/bin/$applet"
done
# For the mounts bundle: a host directory to bind, mount points, a file and
# a directory to mask and a directory to make read-only.
VOL=$E2E_TMP/vol
mkdir -p "$VOL" "$ROOTFS/data" "$ROOTFS/rw" "$ROOTFS/scratch" "$ROOTFS/etc" "$ROOTFS/maskdir" "$ROOTFS/rodir"
echo host-data >"$VOL/file"
echo secret >"$ROOTFS/etc/secret"
echo hidden >"$ROOTFS/maskdir/file"
echo ro-data >"$ROOTFS/rodir/file"
mkdir -p "$ROOTFS/owned" "$ROOTFS/hv"
# A startContainer hook in the container's root: it saves the state it is
# given and leaves a mark for the process (in a host directory bound at /hv).
cat >"$ROOTFS/bin/start-hook" <<'EOF'
#!/bin/sh
cat >/hv/hook-state
echo hooked >/hv/hook-ran
echo hook-says-hi
exit ${HOOK_STATUS:-0}
EOF
chmod +x "$ROOTFS/bin/start-hook"
HOOKVOL=$E2E_TMP/hookvol
mkdir -p "$HOOKVOL"

# A network namespace for a container to join (as Docker prepares one),
# with a veth pair in it to recognise it by; iproute2 from Debian if missing.
if ! command -v ip >/dev/null || ! command -v nsenter >/dev/null; then
  DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq iproute2 util-linux >/dev/null 2>&1 || true
fi
NETNS=
if ((EUID == 0)) && command -v ip >/dev/null && command -v nsenter >/dev/null &&
  ip netns add "moat-e2e-$$" 2>/dev/null; then
  NETNS=moat-e2e-$$
  ip -n "$NETNS" link add moat-v0 type veth peer name moat-v1 2>/dev/null
fi

# make_bundle NAME SHELL_SCRIPT [PYTHON_EDIT]: a bundle running sh -c SCRIPT,
# non-terminal, with its root read-only; PYTHON_EDIT may change `c`.
make_bundle() {
  local dir=$E2E_TMP/$1 script=$2 edit=${3:-}
  mkdir -p "$dir"
  (cd "$dir" && "$MOAT" spec) || return 1
  ROOTFS=$ROOTFS VOL=${VOL:-} SCRIPT=$script EDIT=$edit "$PYTHON" - "$dir/config.json" <<'EOF'
import json, os, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["root"]["path"] = os.environ["ROOTFS"]  # runc refuses a symbolic link
c["process"]["args"] = ["sh", "-c", os.environ["SCRIPT"]]
exec(os.environ["EDIT"])
json.dump(c, open(path, "w"), indent=1)
EOF
}

# obs_get FILE STEP: the observation recorded for STEP in FILE.
obs_get() {
  awk -v step="$2: " 'index($0, step) == 1 { print substr($0, length(step) + 1); exit }' "$1"
}

# poll_until SECONDS CMD...: runs CMD every 50 ms until it succeeds.
poll_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.05
  done
}

# ---- `moat spec`.
SPECDIR=$E2E_TMP/specdir
mkdir -p "$SPECDIR"
(cd "$SPECDIR" && run spec "$MOAT" spec)
expect_status "spec writes config.json" spec 0
expect_grep "spec: the default config is runc's" "$SPECDIR/config.json" '"ociVersion"'
(cd "$SPECDIR" && run spec_again "$MOAT" spec)
expect_status "spec refuses to overwrite config.json" spec_again 1
run features "$MOAT" features
expect_status "features exits 0" features 0
expect_grep "features prints JSON" "$E2E_TMP/features.out" '"ociVersionMax"'
run version "$MOAT" --version
expect_grep "--version names the spec version" "$E2E_TMP/version.out" '^spec: 1\.'

make_bundle lifecycle 'trap "echo got-term; exit 143" TERM; echo started; while :; do sleep 1; done' || {
  fail "could not make the lifecycle bundle"
  finish
}
make_bundle exit7 'echo hi; exit 7'
make_bundle notrap 'echo started; while :; do sleep 1; done'
make_bundle missing_cmd 'exit 0' 'c["process"]["args"] = ["/bin/no-such-command"]'
make_bundle odd_mount 'exit 0' \
  'c["mounts"].append({"destination": "/mnt", "type": "nfs", "source": "srv:/x"})'
# The guest's view of binds (ro and rw), a tmpfs with size and mode (runc
# gives a tmpfs on an existing directory that directory's mode), masked
# and read-only paths; one "key=value" line each.
MOUNTS_SCRIPT='echo "data=$(cat /data/file)"
touch /data/new 2>/dev/null; echo "data-write=$?"
echo "data-opt=$(awk '"'"'$2 == "/data" { split($4, o, ","); print o[1] }'"'"' /proc/mounts)"
echo "rw=$(cat /rw/file)"
(echo x >/rw/guest) 2>/dev/null; echo "rw-write=$?"
(echo x >/scratch/f) 2>/dev/null; echo "scratch-write=$?"
echo "scratch-mode=$(stat -c %a /scratch)"
echo "scratch-size=$(df -k /scratch | tail -n 1 | awk '"'"'{ print $2 }'"'"')"
echo "scratch-opt=$(awk '"'"'$2 == "/scratch" { print $3 }'"'"' /proc/mounts)"
echo "owned=$(stat -c %u:%g /owned)"
echo "secret=$(cat /etc/secret | wc -c)"
echo "maskdir=$(ls -A /maskdir | wc -l)"
touch /maskdir/x 2>/dev/null; echo "maskdir-write=$?"
echo "rodir=$(cat /rodir/file)"
touch /rodir/x 2>/dev/null; echo "rodir-write=$?"
touch /rootfile 2>/dev/null; echo "root-write=$?"'
make_bundle mounts "$MOUNTS_SCRIPT" '
vol = os.environ["VOL"]
c["root"]["readonly"] = False
c["mounts"] += [
    {"destination": "/data", "type": "bind", "source": vol, "options": ["rbind", "ro"]},
    {"destination": "/rw", "type": "bind", "source": vol, "options": ["rbind"]},
    {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m", "mode=750"]},
    {"destination": "/owned", "type": "tmpfs", "source": "tmpfs", "options": ["uid=1000", "gid=1000"]},
]
c["linux"]["maskedPaths"] += ["/etc/secret", "/maskdir"]
c["linux"]["readonlyPaths"] = ["/rodir"]
'
make_bundle rootro "$MOUNTS_SCRIPT" '
vol = os.environ["VOL"]
c["mounts"] += [{"destination": "/data", "type": "bind", "source": vol, "options": ["rbind", "ro"]}]
'
# linux.sysctl: the guest's view, and the names runc refuses.
make_bundle sysctl 'for f in kernel/shm_rmid_forced net/ipv4/ip_local_port_range kernel/domainname fs/mqueue/msg_max; do
  echo "$f=$(cat /proc/sys/$f)"; done' '
c["linux"]["sysctl"] = {"kernel.shm_rmid_forced": "1", "net.ipv4.ip_local_port_range": "1024 2048",
                        "kernel.domainname": "sysctl.example", "fs.mqueue.msg_max": "20"}'
make_bundle sysctl_hostname 'exit 0' 'c["linux"]["sysctl"] = {"kernel.hostname": "x"}'
make_bundle sysctl_global 'exit 0' 'c["linux"]["sysctl"] = {"kernel.pid_max": "50000"}'
make_bundle sysctl_hostnet 'exit 0' '
c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
# A network namespace to join, with a net.* sysctl that goes into it.
make_bundle netjoin 'echo started; echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward)"; while :; do sleep 1; done' "
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']
c['linux']['namespaces'].append({'type': 'network', 'path': '/var/run/netns/$NETNS'})
c['linux']['sysctl'] = {'net.ipv4.ip_forward': '1'}"
# startContainer hooks, run inside the container before its process.
make_bundle starthook 'echo "hook-ran=$(cat /hv/hook-ran 2>/dev/null)"' "
c['root']['readonly'] = False
c['mounts'].append({'destination': '/hv', 'type': 'bind', 'source': '$HOOKVOL', 'options': ['rbind']})
c['hooks'] = {'startContainer': [{'path': '/bin/start-hook', 'args': ['start-hook']}]}"
make_bundle badstarthook 'echo process-ran' "
c['root']['readonly'] = False
c['mounts'].append({'destination': '/hv', 'type': 'bind', 'source': '$HOOKVOL', 'options': ['rbind']})
c['hooks'] = {'startContainer': [{'path': '/bin/start-hook', 'args': ['start-hook'], 'env': ['HOOK_STATUS=3']}]}"
mkdir -p "$E2E_TMP/malformed" "$E2E_TMP/noargs"
echo '{"ociVersion": "1.0.2", "process": {' >"$E2E_TMP/malformed/config.json"
echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"cwd": "/"}}' >"$E2E_TMP/noargs/config.json"

# subreaper.py ID BUNDLE RUNTIME... [SIGNAL]: as containerd's shim, a child
# subreaper that creates and starts the container, optionally kills it with
# SIGNAL, and prints how the process in the pid file ended.
cat >"$E2E_TMP/subreaper.py" <<'EOF'
import ctypes, os, subprocess, sys, time
if ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl failed")
cid, bundle, rt, sig = sys.argv[1], sys.argv[2], sys.argv[3:], None
if rt[-1].isupper():
    rt, sig = rt[:-1], rt[-1]
pidfile = bundle + ".pid"
quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
subprocess.run(rt + ["create", "--bundle", bundle, "--pid-file", pidfile, cid], check=True, **quiet)
pid = int(open(pidfile).read())
subprocess.run(rt + ["start", cid], check=True, **quiet)
if sig:
    time.sleep(0.5)
    subprocess.run(rt + ["kill", cid, sig], check=True, **quiet)
_, status = os.waitpid(pid, 0)
if os.WIFEXITED(status):
    print("exited", os.WEXITSTATUS(status))
else:
    print("killed by", os.WTERMSIG(status))
subprocess.run(rt + ["delete", cid], check=True, **quiet)
EOF

# observe RUNTIME_NAME CMD...: runs the scenario with CMD (a runtime with its
# --root), writing one "step: observation" line per step to
# $E2E_TMP/RUNTIME_NAME.obs, for the checks below and the comparison with runc.
observe() {
  local name=$1
  shift
  local rt=("$@") obs=$E2E_TMP/$name.obs out id=oci-e2e-$name
  : >"$obs"
  note() { echo "$1: $2" >>"$obs"; }
  # yes_no STEP CMD...: notes whether CMD succeeds.
  yes_no() {
    local step=$1
    shift
    if "$@"; then note "$step" yes; else note "$step" no; fi
  }
  status_of_ctr() { "${rt[@]}" state "$1" 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none; }
  rc() { "$@" >/dev/null 2>>"$E2E_TMP/$name.errors" </dev/null && echo 0 || echo "fail"; }
  # code CMD...: CMD's exit status, in a session of its own (no controlling terminal).
  code() {
    setsid -w "$@" >/dev/null 2>>"$E2E_TMP/$name.errors" </dev/null
    echo $?
  }
  pid_of_ctr() { "${rt[@]}" state "$1" 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null; }

  # create: the guest is set up but has not run.
  out=$E2E_TMP/$name.guest.out
  timeout -k 5 "$E2E_TIMEOUT" "${rt[@]}" create --bundle "$E2E_TMP/lifecycle" --pid-file "$E2E_TMP/$name.pid" "$id" \
    >"$out" 2>"$E2E_TMP/$name.create.err" </dev/null
  note create $?
  note "state after create" "$(status_of_ctr "$id")"
  sleep 0.5
  yes_no "guest ran before start" grep -q started "$out"
  local pid state_pid
  pid=$(cat "$E2E_TMP/$name.pid" 2>/dev/null)
  state_pid=$("${rt[@]}" state "$id" 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
  yes_no "pid file is the state's pid" test -n "$pid" -a "$pid" == "$state_pid"
  yes_no "pid lives" kill -0 "${pid:-0}"
  # The spec's network namespace has no path: a new one, loopback up.
  yes_no "netns is a new one" test -n "$pid" -a "$(readlink "/proc/${pid:-0}/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)"
  yes_no "netns has loopback up" sh -c "nsenter --net=/proc/${pid:-0}/ns/net ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'"
  note "start" "$(rc "${rt[@]}" start "$id")"
  yes_no "guest ran after start" poll_until 10 grep -q started "$out"
  note "state after start" "$(status_of_ctr "$id")"
  note "second start" "$(rc "${rt[@]}" start "$id")"
  local ps_json
  ps_json=$("${rt[@]}" ps --format json "$id" 2>/dev/null)
  yes_no "ps lists the pid" "$PYTHON" -c 'import json,sys; sys.exit(0 if int(sys.argv[2]) in json.loads(sys.argv[1]) else 1)' \
    "$ps_json" "${pid:-0}"
  # exec: a second process in the running container.
  local exec_out=$E2E_TMP/$name.exec.out
  timeout -k 5 "$E2E_TIMEOUT" "${rt[@]}" exec "$id" sh -c 'echo in-exec; exit 4' >"$exec_out" 2>/dev/null </dev/null
  note "exec exit status" $?
  note "exec output" "$(tr '\n' ' ' <"$exec_out" | sed 's/ *$//')"
  echo '{"args": ["sh", "-c", "echo $A $(pwd) $(id -u):$(id -g)"], "cwd": "/tmp", "env": ["A=x", "PATH=/bin"],
         "user": {"uid": 1000, "gid": 1000}}' >"$E2E_TMP/$name.process.json"
  timeout -k 5 "$E2E_TIMEOUT" "${rt[@]}" exec --process "$E2E_TMP/$name.process.json" "$id" >"$exec_out" 2>/dev/null </dev/null
  note "exec --process" "$? $(tr '\n' ' ' <"$exec_out" | sed 's/ *$//')"
  note "exec missing command" "$(rc "${rt[@]}" exec "$id" /no/such/command)"
  note "exec unknown container" "$(rc "${rt[@]}" exec no-such-container true)"
  timeout -k 5 "$E2E_TIMEOUT" "${rt[@]}" exec -d --pid-file "$E2E_TMP/$name.exec.pid" "$id" sleep 30 \
    >/dev/null 2>&1 </dev/null
  note "exec -d" $?
  local exec_pid
  exec_pid=$(cat "$E2E_TMP/$name.exec.pid" 2>/dev/null)
  yes_no "exec -d pid lives" kill -0 "${exec_pid:-0}"
  # Terminals and console sockets: runc's checks, and its exit status.
  note "exec -t without a terminal" "$(code "${rt[@]}" exec -t "$id" true)"
  note "exec -t -d without --console-socket" "$(code "${rt[@]}" exec -t -d "$id" true)"
  note "exec --console-socket without -t -d" "$(code "${rt[@]}" exec --console-socket "$E2E_TMP/no.sock" "$id" true)"
  note "exec missing command status" "$(code "${rt[@]}" exec "$id" /no/such/command)"
  timeout -k 5 "$E2E_TIMEOUT" script -qec "${rt[*]} exec -t $id sh -c '[ -t 0 ] && echo in-a-tty'" /dev/null \
    </dev/null >"$E2E_TMP/$name.exec_tty.out" 2>&1
  note "exec -t in a terminal" "$? $(grep -c in-a-tty "$E2E_TMP/$name.exec_tty.out")"
  "${rt[@]}" list --format json 2>/dev/null | "$PYTHON" -c '
import json, sys
rows = json.load(sys.stdin) or []
print(" ".join(r["status"] for r in rows if r["id"] == sys.argv[1]))' "$id" >"$E2E_TMP/$name.list"
  note "list" "$(cat "$E2E_TMP/$name.list")"
  note "delete running" "$(rc "${rt[@]}" delete "$id")"
  note "create duplicate" "$(rc "${rt[@]}" create --bundle "$E2E_TMP/lifecycle" "$id")"
  note "kill bad signal" "$(rc "${rt[@]}" kill "$id" NOSUCHSIG)"
  note "kill TERM" "$(rc "${rt[@]}" kill "$id" TERM)"
  local st
  for _ in $(seq 100); do
    st=$(status_of_ctr "$id")
    [[ $st == stopped ]] && break
    sleep 0.1
  done
  note "state after kill TERM" "$st"
  yes_no "guest trapped TERM" grep -q got-term "$out"
  note "kill stopped" "$(rc "${rt[@]}" kill "$id" TERM)"
  note "delete stopped" "$(rc "${rt[@]}" delete "$id")"
  note "state after delete" "$(status_of_ctr "$id")"
  note "delete again" "$(rc "${rt[@]}" delete "$id")"
  note "delete --force missing" "$(rc "${rt[@]}" delete --force "$id")"

  # A created container that is killed, and one deleted without starting.
  "${rt[@]}" create --bundle "$E2E_TMP/lifecycle" "$id-k" >/dev/null 2>&1 </dev/null
  note "kill created" "$(rc "${rt[@]}" kill "$id-k" KILL)"
  for _ in $(seq 100); do
    st=$(status_of_ctr "$id-k")
    [[ $st == stopped ]] && break
    sleep 0.1
  done
  note "state after kill of created" "$st"
  note "delete killed" "$(rc "${rt[@]}" delete "$id-k")"
  "${rt[@]}" create --bundle "$E2E_TMP/lifecycle" "$id-d" >/dev/null 2>&1 </dev/null
  note "delete created" "$(rc "${rt[@]}" delete "$id-d")"
  note "state after delete of created" "$(status_of_ctr "$id-d")"

  # Init ignores a signal it has no handler for; SIGKILL still ends it.
  "${rt[@]}" run -d --bundle "$E2E_TMP/notrap" "$id-n" >"$E2E_TMP/$name.notrap.out" 2>/dev/null </dev/null
  note "run -d" $?
  poll_until 10 grep -q started "$E2E_TMP/$name.notrap.out"
  "${rt[@]}" kill "$id-n" TERM >/dev/null 2>&1
  sleep 1
  note "init without a handler after TERM" "$(status_of_ctr "$id-n")"
  note "delete --force running" "$(rc "${rt[@]}" delete --force "$id-n")"
  note "state after delete --force" "$(status_of_ctr "$id-n")"

  # A signal to a paused container waits in it until it is resumed.
  "${rt[@]}" run -d --bundle "$E2E_TMP/lifecycle" "$id-p" >"$E2E_TMP/$name.paused.out" 2>/dev/null </dev/null
  poll_until 10 grep -q started "$E2E_TMP/$name.paused.out"
  note "pause" "$(rc "${rt[@]}" pause "$id-p")"
  note "kill TERM while paused" "$(rc "${rt[@]}" kill "$id-p" TERM)"
  sleep 1
  note "state after kill TERM while paused" "$(status_of_ctr "$id-p")"
  yes_no "guest got TERM while paused" grep -q got-term "$E2E_TMP/$name.paused.out"
  note "resume" "$(rc "${rt[@]}" resume "$id-p")"
  yes_no "guest got TERM after resume" poll_until 10 grep -q got-term "$E2E_TMP/$name.paused.out"
  for _ in $(seq 100); do
    st=$(status_of_ctr "$id-p")
    [[ $st == stopped ]] && break
    sleep 0.1
  done
  note "state after resume" "$st"
  "${rt[@]}" delete --force "$id-p" >/dev/null 2>&1

  # run: the exit status passes through; the container is gone after.
  timeout -k 5 "$E2E_TIMEOUT" "${rt[@]}" run --bundle "$E2E_TMP/exit7" "$id-7" >"$E2E_TMP/$name.run7.out" 2>&1 </dev/null
  note "run exit status" $?
  note "run output" "$(tr '\n' ' ' <"$E2E_TMP/$name.run7.out" | head -c 200 | sed 's/ *$//')"
  note "state after run" "$(status_of_ctr "$id-7")"

  # containerd's shim is a subreaper: it reaps the pid in the pid file and
  # takes the container's exit status from it.
  note "subreaper sees exit" "$("$PYTHON" "$E2E_TMP/subreaper.py" "$id-s" "$E2E_TMP/exit7" "${rt[@]}" 2>&1)"
  note "subreaper sees KILL" "$("$PYTHON" "$E2E_TMP/subreaper.py" "$id-s" "$E2E_TMP/lifecycle" "${rt[@]}" KILL 2>&1)"

  # Errors: unknown container, bad IDs, bad bundles.
  note "state unknown" "$(rc "${rt[@]}" state no-such-container)"
  note "start unknown" "$(rc "${rt[@]}" start no-such-container)"
  note "kill unknown" "$(rc "${rt[@]}" kill no-such-container)"
  note "delete unknown" "$(rc "${rt[@]}" delete no-such-container)"
  note "state bad id" "$(rc "${rt[@]}" state 'a/b')"
  note "create missing bundle" "$(rc "${rt[@]}" create --bundle "$E2E_TMP/no-such-bundle" "$id-m")"
  note "create malformed config" "$(rc "${rt[@]}" create --bundle "$E2E_TMP/malformed" "$id-m")"
  note "create without process.args" "$(rc "${rt[@]}" create --bundle "$E2E_TMP/noargs" "$id-m")"
  note "create missing command" "$(rc "${rt[@]}" create --bundle "$E2E_TMP/missing_cmd" "$id-m")"
  note "state after failed creates" "$(status_of_ctr "$id-m")"

  # The guest's view of the spec's mounts, maskedPaths and readonlyPaths.
  local line
  rm -f "$VOL/guest"
  "${rt[@]}" run --bundle "$E2E_TMP/mounts" "$id-mnt" </dev/null >"$E2E_TMP/$name.mounts.out" 2>>"$E2E_TMP/$name.errors"
  note "mounts run" $?
  while IFS= read -r line; do note "mounts ${line%%=*}" "${line#*=}"; done <"$E2E_TMP/$name.mounts.out"
  # linux.sysctl: the guest's /proc/sys, and the names runc refuses.
  "${rt[@]}" run --bundle "$E2E_TMP/sysctl" "$id-sy" </dev/null >"$E2E_TMP/$name.sysctl.out" 2>>"$E2E_TMP/$name.errors"
  note "sysctl run" $?
  while IFS= read -r line; do note "sysctl ${line%%=*}" "${line#*=}"; done <"$E2E_TMP/$name.sysctl.out"
  note "sysctl kernel.hostname" "$(rc "${rt[@]}" run --bundle "$E2E_TMP/sysctl_hostname" "$id-sy1")"
  note "sysctl kernel.pid_max" "$(rc "${rt[@]}" run --bundle "$E2E_TMP/sysctl_global" "$id-sy2")"
  note "sysctl net.* in the host network namespace" "$(rc "${rt[@]}" run --bundle "$E2E_TMP/sysctl_hostnet" "$id-sy3")"

  # A network namespace to join: the container's process (moat's sentry,
  # which holds the guest's host sockets) is in it; a net.* sysctl goes into it.
  if [[ -n $NETNS ]]; then
    ip netns exec "$NETNS" sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'
    "${rt[@]}" run -d --bundle "$E2E_TMP/netjoin" "$id-net" >"$E2E_TMP/$name.netjoin.out" 2>>"$E2E_TMP/$name.errors" </dev/null
    note "netns join run -d" $?
    poll_until 10 grep -q fwd= "$E2E_TMP/$name.netjoin.out"
    local npid
    npid=$(pid_of_ctr "$id-net")
    yes_no "netns join in the spec's namespace" \
      test "$(readlink "/proc/${npid:-0}/ns/net" 2>/dev/null)" == "net:[$(stat -L -c %i "/var/run/netns/$NETNS")]"
    yes_no "netns join its veth is there" sh -c "nsenter --net=/proc/${npid:-0}/ns/net ip link show moat-v0 >/dev/null 2>&1"
    note "netns join net.ipv4.ip_forward in the namespace" "$(ip netns exec "$NETNS" cat /proc/sys/net/ipv4/ip_forward)"
    note "netns join the guest's ip_forward" "$(grep fwd= "$E2E_TMP/$name.netjoin.out")"
    "${rt[@]}" delete --force "$id-net" >/dev/null 2>&1
  fi

  # startContainer hooks: inside the container, after start, before the process.
  rm -f "$HOOKVOL"/*
  "${rt[@]}" run --bundle "$E2E_TMP/starthook" "$id-sh" </dev/null >"$E2E_TMP/$name.starthook.out" 2>>"$E2E_TMP/$name.errors"
  note "startContainer hook run" $?
  note "startContainer hook ran before the process" "$(cat "$E2E_TMP/$name.starthook.out")"
  note "startContainer hook state on stdin" "$("$PYTHON" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["id"] == sys.argv[2], s["status"], s["pid"])' "$HOOKVOL/hook-state" "$id-sh" 2>&1)"
  rm -f "$HOOKVOL"/*
  "${rt[@]}" run --bundle "$E2E_TMP/badstarthook" "$id-sb" </dev/null >"$E2E_TMP/$name.badstarthook.out" 2>&1
  note "failing startContainer hook, run" $?
  yes_no "failing startContainer hook, the process ran" grep -q process-ran "$E2E_TMP/$name.badstarthook.out"
  yes_no "failing startContainer hook, the error names it" \
    grep -q 'error running hook #0: .*exit status 3, stdout: hook-says-hi' "$E2E_TMP/$name.badstarthook.out"
  note "failing startContainer hook, subreaper sees" \
    "$("$PYTHON" "$E2E_TMP/subreaper.py" "$id-sb2" "$E2E_TMP/badstarthook" "${rt[@]}" 2>&1 | tail -n 1)"

  "${rt[@]}" run --bundle "$E2E_TMP/rootro" "$id-ro" </dev/null >"$E2E_TMP/$name.rootro.out" 2>>"$E2E_TMP/$name.errors"
  note "root.readonly run" $?
  while IFS= read -r line; do
    case $line in data=* | data-write=* | root-write=*) note "root.readonly ${line%%=*}" "${line#*=}" ;; esac
  done <"$E2E_TMP/$name.rootro.out"
}

# ---- moat.
observe moat "$MOAT" --root "$MOAT_ROOT"
cat >"$E2E_TMP/expected.obs" <<'EOF'
create: 0
state after create: created
guest ran before start: no
pid file is the state's pid: yes
pid lives: yes
netns is a new one: yes
netns has loopback up: yes
start: 0
guest ran after start: yes
state after start: running
second start: fail
ps lists the pid: yes
exec exit status: 4
exec output: in-exec
exec --process: 0 x /tmp 1000:1000
exec missing command: fail
exec unknown container: fail
exec -d: 0
exec -d pid lives: yes
exec -t without a terminal: 255
exec -t -d without --console-socket: 255
exec --console-socket without -t -d: 255
exec missing command status: 255
exec -t in a terminal: 0 1
list: running
delete running: fail
create duplicate: fail
kill bad signal: fail
kill TERM: 0
state after kill TERM: stopped
guest trapped TERM: yes
kill stopped: fail
delete stopped: 0
state after delete: none
delete again: fail
delete --force missing: 0
kill created: 0
state after kill of created: stopped
delete killed: 0
delete created: 0
state after delete of created: none
run -d: 0
init without a handler after TERM: running
delete --force running: 0
state after delete --force: none
pause: 0
kill TERM while paused: 0
state after kill TERM while paused: paused
guest got TERM while paused: no
resume: 0
guest got TERM after resume: yes
state after resume: stopped
run exit status: 7
run output: hi
state after run: none
subreaper sees exit: exited 7
subreaper sees KILL: killed by 9
state unknown: fail
start unknown: fail
kill unknown: fail
delete unknown: fail
state bad id: fail
create missing bundle: fail
create malformed config: fail
create without process.args: fail
create missing command: fail
state after failed creates: none
mounts run: 0
mounts data: host-data
mounts data-write: 1
mounts data-opt: ro
mounts rw: host-data
mounts rw-write: 0
mounts scratch-write: 0
mounts scratch-mode: 755
mounts scratch-size: 1024
mounts scratch-opt: tmpfs
mounts owned: 1000:1000
mounts secret: 0
mounts maskdir: 0
mounts maskdir-write: 1
mounts rodir: ro-data
mounts rodir-write: 1
mounts root-write: 0
sysctl run: 0
sysctl kernel/shm_rmid_forced: 1
sysctl net/ipv4/ip_local_port_range: 1024	2048
sysctl kernel/domainname: sysctl.example
sysctl fs/mqueue/msg_max: 20
sysctl kernel.hostname: fail
sysctl kernel.pid_max: fail
sysctl net.* in the host network namespace: fail
netns join run -d: 0
netns join in the spec's namespace: yes
netns join its veth is there: yes
netns join net.ipv4.ip_forward in the namespace: 1
netns join the guest's ip_forward: fwd=1
startContainer hook run: 0
startContainer hook ran before the process: hook-ran=hooked
startContainer hook state on stdin: True created 1
failing startContainer hook, run: 1
failing startContainer hook, the process ran: no
failing startContainer hook, the error names it: yes
failing startContainer hook, subreaper sees: exited 1
root.readonly run: 0
root.readonly data: host-data
root.readonly data-write: 1
root.readonly root-write: 1
EOF
if [[ -z $NETNS ]]; then
  echo "SKIP: joining a network namespace: no root, ip or nsenter here"
  grep -v '^netns join' "$E2E_TMP/expected.obs" >"$E2E_TMP/expected.tmp" && mv "$E2E_TMP/expected.tmp" "$E2E_TMP/expected.obs"
fi
while IFS= read -r line; do
  step=${line%%: *}
  want=${line#*: }
  got=$(obs_get "$E2E_TMP/moat.obs" "$step")
  if [[ $got == "$want" ]]; then
    pass "moat: $step: $got"
  else
    fail "moat: $step: got '$got', want '$want'"
  fi
done <"$E2E_TMP/expected.obs"
if ((E2E_FAILURES > 0)); then
  echo "  moat's errors along the way:"
  sed 's/^/    | /' "$E2E_TMP/moat.errors" | head -40
fi

# ---- moat's own commands (runc has no wait): pause, resume, events, wait;
# hooks with the state on stdin; linux.resources in the host cgroup.
make_bundle hooks 'echo hooked' "
for kind in ('createRuntime', 'poststart', 'poststop'):
    c.setdefault('hooks', {})[kind] = [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat > $E2E_TMP/hook.' + kind]}]
"
make_bundle limited 'echo started; while :; do sleep 1; done' \
  'c["linux"]["cgroupsPath"] = "/moat-e2e/limited"; c["linux"]["resources"] = {"pids": {"limit": 77}, "memory": {"limit": 134217728}}'
M=("$MOAT" --root "$MOAT_ROOT")
run hooks_run "${M[@]}" run --bundle "$E2E_TMP/hooks" hk1
expect_status "run with hooks" hooks_run 0
for kind in createRuntime poststart; do
  expect_grep "hooks.$kind ran with the state on stdin" "$E2E_TMP/hook.$kind" '"id":"hk1".*"status":"(created|running)"'
done
expect_grep "hooks.poststop ran with the state on stdin" "$E2E_TMP/hook.poststop" '"status":"stopped"'
make_bundle badhook 'echo never' 'c["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}'
run badhook "${M[@]}" run --bundle "$E2E_TMP/badhook" hk2
expect_status "a failing createRuntime hook fails the container" badhook 1
expect_grep "a failing hook is named" "$E2E_TMP/badhook.err" 'hooks\.createRuntime\[0\] /bin/false: exit status 1'
expect_no_fixed "a failing hook: the process never ran" "$E2E_TMP/badhook.out" never

"${M[@]}" run -d --bundle "$E2E_TMP/limited" lim >"$E2E_TMP/limited.out" 2>"$E2E_TMP/limited.err" </dev/null
poll_until 10 grep -q started "$E2E_TMP/limited.out"
SPID=$("${M[@]}" state lim 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  run pids_max cat /sys/fs/cgroup/moat-e2e/limited/pids.max
  run mem_max cat /sys/fs/cgroup/moat-e2e/limited/memory.max
else
  run pids_max cat /sys/fs/cgroup/pids/moat-e2e/limited/pids.max
  run mem_max cat /sys/fs/cgroup/memory/moat-e2e/limited/memory.limit_in_bytes
fi
if ((EUID != 0)); then
  echo "SKIP: linux.resources: cgroups need root"
else
  expect_grep "linux.resources.pids.limit in the host cgroup" "$E2E_TMP/pids_max.out" '^77$'
  expect_grep "linux.resources.memory.limit in the host cgroup" "$E2E_TMP/mem_max.out" '^134217728$'
  expect_grep "the sentry is in the cgroup" "/proc/${SPID:-0}/cgroup" 'moat-e2e/limited'
  run pause "${M[@]}" pause lim
  expect_status "pause" pause 0
  run state_paused "${M[@]}" state lim
  expect_grep "state after pause: paused" "$E2E_TMP/state_paused.out" '"status": "paused"'
  run pause_again "${M[@]}" pause lim
  expect_status "pause of a paused container fails" pause_again 1
  run resume "${M[@]}" resume lim
  expect_status "resume" resume 0
  run state_resumed "${M[@]}" state lim
  expect_grep "state after resume: running" "$E2E_TMP/state_resumed.out" '"status": "running"'
  run events "${M[@]}" events --stats lim
  expect_grep "events --stats: the pids count" "$E2E_TMP/events.out" '^\{"type":"stats","id":"lim","data":\{.*"pids":\{"current":[1-9]'
fi
"${M[@]}" kill lim KILL >/dev/null 2>&1
run wait "${M[@]}" wait lim
expect_grep "wait: the exit status of a killed container" "$E2E_TMP/wait.out" '^\{"id":"lim","exitStatus":137\}$'
run delete_lim "${M[@]}" delete lim
expect_status "delete after wait" delete_lim 0
if [[ -d /sys/fs/cgroup/pids/moat-e2e/limited || -d /sys/fs/cgroup/moat-e2e/limited ]]; then
  fail "delete left the container's cgroup behind"
else
  pass "delete removed the container's cgroup"
fi
rmdir /sys/fs/cgroup/*/moat-e2e /sys/fs/cgroup/moat-e2e 2>/dev/null

# ---- moat's --network flag: none is a namespace of its own even where the
# spec names one to join; host keeps a spec entry without a path in the
# host's namespace; `moat do` has its own namespace unless --network host.
# The sentry holds the guest's host sockets, so its namespace is checked.
HOST_NS=$(readlink /proc/self/ns/net)
ns_of_ctr() {
  local p
  p=$("${M[@]}" state "$1" 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
  readlink "/proc/${p:-0}/ns/net" 2>/dev/null
}
if ((EUID != 0)); then
  echo "SKIP: --network: network namespaces need root"
else
  if [[ -n $NETNS ]]; then
    JOIN_NS="net:[$(stat -L -c %i "/var/run/netns/$NETNS")]"
    "${M[@]}" --network none run -d --bundle "$E2E_TMP/netjoin" netnone >/dev/null 2>&1 </dev/null
    got=$(ns_of_ctr netnone)
    if [[ -n $got && $got != "$JOIN_NS" && $got != "$HOST_NS" ]]; then
      pass "--network none: a namespace of its own, not the spec's"
    else
      fail "--network none: the sentry is in '$got' (spec's $JOIN_NS, host's $HOST_NS)"
    fi
    "${M[@]}" delete --force netnone >/dev/null 2>&1
  fi
  "${M[@]}" --network host run -d --bundle "$E2E_TMP/notrap" nethost >/dev/null 2>&1 </dev/null
  got=$(ns_of_ctr nethost)
  if [[ $got == "$HOST_NS" ]]; then
    pass "--network host: the host's namespace for a spec entry without a path"
  else
    fail "--network host: the sentry is in '$got', not the host's $HOST_NS"
  fi
  "${M[@]}" delete --force nethost >/dev/null 2>&1
  for mode in sandbox host; do
    "$MOAT" do --network "$mode" -- /bin/sleep 2 </dev/null >/dev/null 2>&1 &
    do_pid=$!
    sleep 0.5
    got=$(readlink "/proc/$do_pid/ns/net" 2>/dev/null)
    wait "$do_pid"
    if [[ $mode == host && $got == "$HOST_NS" ]] || [[ $mode == sandbox && -n $got && $got != "$HOST_NS" ]]; then
      pass "moat do --network $mode: the sentry's namespace ($got)"
    else
      fail "moat do --network $mode: the sentry is in '$got' (host's $HOST_NS)"
    fi
  done
fi
run netbad "$MOAT" --root "$MOAT_ROOT" --network bridge state no-such-container
expect_status "--network with an unknown mode is a usage error" netbad 2
expect_grep "--network bridge: says so" "$E2E_TMP/netbad.err" 'invalid --network "bridge"'

# ---- Errors are one clear line; with --log-format json the log's last line
# is the error (containerd reads it).
run unknown "$MOAT" --root "$MOAT_ROOT" state no-such-container
expect_status "state of an unknown container fails" unknown 1
expect_grep "unknown container: says so" "$E2E_TMP/unknown.err" 'container "no-such-container" does not exist'
run jsonlog "$MOAT" --root "$MOAT_ROOT" --log "$E2E_TMP/log.json" --log-format json kill no-such-container TERM
expect_status "kill of an unknown container fails" jsonlog 1
tail -n 1 "$E2E_TMP/log.json" >"$E2E_TMP/log.last"
expect_grep "json log: the last line is the error" "$E2E_TMP/log.last" \
  '^\{"level":"error","msg":"container \\"no-such-container\\" does not exist","time":"[0-9T:-]+Z"\}$'
run badsig "$MOAT" --root "$MOAT_ROOT" --criu /x --systemd-cgroup --no-such-global kill no-such-container SIGNOPE
expect_status "bad signal fails (unknown global flags are ignored)" badsig 1
expect_grep "bad signal: says so" "$E2E_TMP/badsig.err" 'unknown signal "SIGNOPE"'
run malformed "$MOAT" --root "$MOAT_ROOT" create --bundle "$E2E_TMP/malformed" m1
expect_status "malformed config.json fails" malformed 1
expect_grep "malformed config.json: names the file" "$E2E_TMP/malformed.err" 'config\.json: malformed JSON'
run noargs "$MOAT" --root "$MOAT_ROOT" create --bundle "$E2E_TMP/noargs" m1
expect_grep "missing process.args: names the field" "$E2E_TMP/noargs.err" 'process\.args'
run nobundle "$MOAT" --root "$MOAT_ROOT" run --bundle "$E2E_TMP/no-such-bundle" m1
expect_status "missing bundle fails" nobundle 1
expect_grep "missing bundle: says so" "$E2E_TMP/nobundle.err" 'no-such-bundle.*No such file or directory'
run badid "$MOAT" --root "$MOAT_ROOT" create --bundle "$E2E_TMP/exit7" 'a/b'
expect_grep "an ID with a slash is refused" "$E2E_TMP/badid.err" 'invalid container id'
run mountwarn "$MOAT" --root "$MOAT_ROOT" --log "$E2E_TMP/warn.log" run --bundle "$E2E_TMP/odd_mount" w1
expect_status "a config with an unsupported mount still runs" mountwarn 0
expect_grep "an unsupported mount is a warning naming it" "$E2E_TMP/warn.log" 'level=warning msg="mounts\[7\] \(nfs srv:/x on /mnt\)'
run mountnowarn "$MOAT" --root "$MOAT_ROOT" --log "$E2E_TMP/nowarn.log" run --bundle "$E2E_TMP/mounts" w2
expect_status "a config with binds, a tmpfs, masked and read-only paths runs" mountnowarn 0
expect_no_fixed "binds, tmpfs, /proc, /sys, /dev...: no warning" "$E2E_TMP/nowarn.log" 'level=warning'
if [[ -e $VOL/new ]]; then fail "a read-only bind let the guest make a file on the host"; else pass "a read-only bind leaves the host directory alone"; fi
if [[ -n $(ls -A "$MOAT_ROOT" 2>/dev/null) ]]; then
  fail "state directories left behind: $(ls "$MOAT_ROOT")"
else
  pass "no state directory left behind"
fi

# ---- The same scenario through runc, when it is here and works here.
if ! command -v runc >/dev/null; then
  DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq runc >/dev/null 2>&1 || true
fi
probe=none
if command -v runc >/dev/null; then
  probe=0
  timeout 30 runc --root "$RUNC_ROOT" run --bundle "$E2E_TMP/exit7" oci-e2e-probe >"$E2E_TMP/probe.out" 2>&1 </dev/null ||
    probe=$?
fi
if [[ $probe == none ]]; then
  echo "note: runc is not installed: no comparison with runc"
elif [[ $probe != 7 ]]; then
  echo "note: runc does not run containers here (status $probe): no comparison with runc"
  sed 's/^/    | /' "$E2E_TMP/probe.out" | head -n 5
  runc --root "$RUNC_ROOT" delete --force oci-e2e-probe >/dev/null 2>&1
else
  observe runc runc --root "$RUNC_ROOT"
  agree=0 total=0
  while IFS= read -r line; do
    step=${line%%: *}
    total=$((total + 1))
    r=$(obs_get "$E2E_TMP/runc.obs" "$step")
    m=$(obs_get "$E2E_TMP/moat.obs" "$step")
    if [[ $r == "$m" ]]; then
      agree=$((agree + 1))
    else
      fail "moat and runc differ at '$step': runc '$r', moat '$m'"
    fi
  done <"$E2E_TMP/expected.obs"
  echo "  moat and runc agree on $agree of $total observations"
  ((agree == total)) && pass "moat agrees with runc on all $total observations"
  for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do runc --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1; done
fi

finish
