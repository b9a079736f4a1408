#!/bin/bash
# The guest runs confined: its stub process is under a seccomp filter with
# no_new_privs and no capabilities, and with --root-dir it sees only the tree
# given, whatever paths and symlinks it tries.
source "$(dirname "$0")/lib.sh"

SPIN=$(need_fixture spin)
STATIC_CAT=$(need_fixture static_cat)
STATIC_LS=$(need_fixture static_ls)

# ---- Part 1: credentials and seccomp of the stub process.
#
# The guest spins for a few seconds (clock_gettime, no syscalls needed). It runs
# from a uniquely named copy so that its stub process can be recognised by its
# memory map; failing that, the stub is taken to be a leaf descendant of moat.
GUEST=$E2E_TMP/moat-spin-guest-$$-$RANDOM
cp "$SPIN" "$GUEST"
mkfifo "$E2E_TMP/spin.out"
timeout -k 5 "$E2E_TIMEOUT" "$MOAT" do -- "$GUEST" 5 >"$E2E_TMP/spin.out" 2>"$E2E_TMP/spin.err" &
MOAT_PID=$!
E2E_BG_PIDS+=("$MOAT_PID")
exec 3<"$E2E_TMP/spin.out"
ready=""
read -r -t 20 ready <&3 || true
if [[ $ready != ready ]]; then
  fail "the spinning guest did not print 'ready' within 20s"
  head -n 20 "$E2E_TMP/spin.err" | sed 's/^/    | /'
else
  pass "spinning guest started"
  # Stub processes have no children yet (the guest cannot fork), so they are
  # leaves of moat's process tree; the sentry may map the guest file too, but
  # it is never a leaf.
  leaves=()
  for pid in $(descendants "$MOAT_PID"); do
    [[ -z $(descendants "$pid") ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) != timeout ]] && leaves+=("$pid")
  done
  stubs=()
  for pid in "${leaves[@]}"; do
    grep -Fq "$GUEST" "/proc/$pid/maps" 2>/dev/null && stubs+=("$pid")
  done
  how="maps the guest binary"
  if ((${#stubs[@]} == 0)); then
    how="leaf descendant of moat"
    stubs=("${leaves[@]}")
  fi
  if ((${#stubs[@]} == 0)); then
    fail "found no stub process below moat (pid $MOAT_PID)"
    for pid in $(descendants "$MOAT_PID"); do
      echo "    | $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    done
  fi
  for pid in "${stubs[@]}"; do
    status_file=$E2E_TMP/stub_$pid.status
    cat "/proc/$pid/status" >"$status_file" 2>/dev/null || {
      fail "stub $pid vanished before it could be inspected"
      continue
    }
    echo "  stub process $pid ($how), comm $(cat "/proc/$pid/comm" 2>/dev/null)"
    expect_grep "stub $pid: seccomp filter mode" "$status_file" $'^Seccomp:\t2$'
    expect_grep "stub $pid: no_new_privs" "$status_file" $'^NoNewPrivs:\t1$'
    for cap in CapEff CapPrm CapBnd CapInh CapAmb; do
      expect_grep "stub $pid: $cap empty" "$status_file" "^$cap:"$'\t'"0{16}$"
    done
  done
fi
# Drain the guest's output so it never writes to a closed pipe, then reap it.
cat <&3 >/dev/null
exec 3<&-
wait "$MOAT_PID" 2>/dev/null

# The guest has a pid space of its own, in which it is the first process.
run pid1 "$MOAT" do -- "$PYTHON" -c 'import os; print(os.getpid())'
expect_status "python3 getpid runs" pid1 0
expect_grep "the guest sees itself as pid 1" "$E2E_TMP/pid1.out" '^1$'

# ---- Part 2: --root-dir confines paths.
#
# Layout:  $E2E_TMP/outside/secret.txt      a host file next to the tree
#          $T/bin/{cat,ls}                  static tools (the tree has no libc)
#          $T/etc/passwd                    a tree-only file with a marker
#          $T/escape*                       symlinks that point out of the tree
# There is no $T/etc/shadow and no $T/etc/hostname.
SECRET="host-secret-$$-$RANDOM$RANDOM"
TREE_MARK="tree-passwd-$$-$RANDOM$RANDOM"
mkdir -p "$E2E_TMP/outside"
echo "$SECRET" >"$E2E_TMP/outside/secret.txt"
T=$E2E_TMP/tree/root
mkdir -p "$T/bin" "$T/etc" "$T/tmp"
cp "$STATIC_CAT" "$T/bin/cat"
cp "$STATIC_LS" "$T/bin/ls"
echo "$TREE_MARK" >"$T/etc/passwd"
ln -s /etc "$T/escape1"
ln -s ../../../../etc "$T/escape2"
ln -s /proc/1/root "$T/escape3"
ln -s "$E2E_TMP/outside" "$T/escape4"
ln -s ../../outside "$T/escape5"
ln -s /proc/self/root "$T/escape6"
ln -s /proc/self/cwd "$T/escape7"

# Host strings that must never appear in the guest's output.
HOST_HOSTNAME=$(cat /etc/hostname 2>/dev/null || true)
HOST_PASSWD_ROOT=$(grep -m1 '^root:' /etc/passwd || true)

# in_tree NAME ARGS...: runs `moat do --root-dir $T -- ARGS` from cwd /.
in_tree() {
  local name=$1
  shift
  (cd / && run "$name" "$MOAT" do --root-dir "$T" -- "$@")
}

# no_host_leak NAME: nothing host-only shows up in run NAME's stdout or stderr.
no_host_leak() {
  local name=$1
  cat "$E2E_TMP/$name.out" "$E2E_TMP/$name.err" >"$E2E_TMP/$name.all"
  expect_no_fixed "$name: outside secret not visible" "$E2E_TMP/$name.all" "$SECRET"
  if [[ -n $HOST_PASSWD_ROOT ]]; then
    expect_no_fixed "$name: host /etc/passwd not visible" "$E2E_TMP/$name.all" "$HOST_PASSWD_ROOT"
  fi
  if ((${#HOST_HOSTNAME} >= 6)); then
    expect_no_fixed "$name: host /etc/hostname not visible" "$E2E_TMP/$name.all" "$HOST_HOSTNAME"
  fi
}

# The tree's own files are there.
in_tree tree_passwd /bin/cat /etc/passwd
expect_status "tree file readable" tree_passwd 0
expect_grep "tree file has the tree's content" "$E2E_TMP/tree_passwd.out" "^$TREE_MARK\$"
in_tree tree_ls /bin/ls /
expect_status "ls / in the tree" tree_ls 0
expect_grep "ls / lists the tree's bin" "$E2E_TMP/tree_ls.out" '^bin$'
expect_grep "ls / lists the tree's escape1" "$E2E_TMP/tree_ls.out" '^escape1$'
if grep -qx 'usr' "$E2E_TMP/tree_ls.out"; then
  fail "ls / in the tree lists usr, which only the host has"
else
  pass "ls / in the tree does not list the host's usr"
fi

# Host files absent from the tree are absent for the guest.
in_tree shadow /bin/cat /etc/shadow
expect_status "cat /etc/shadow fails" shadow 1
expect_grep "cat /etc/shadow: No such file" "$E2E_TMP/shadow.err" 'No such file or directory'
no_host_leak shadow
in_tree hostname /bin/cat /etc/hostname
expect_status "cat /etc/hostname fails" hostname 1
no_host_leak hostname

# Paths that climb above the root stop at the root.
for path in /../../../../etc/passwd /../outside/secret.txt ../../../../../../etc/passwd \
  /bin/../../../../outside/secret.txt /etc/../../etc/hostname "$E2E_TMP/outside/secret.txt"; do
  name=climb_$(echo "$path" | tr -c 'A-Za-z0-9' '_')
  in_tree "$name" /bin/cat "$path"
  expect_status "cat $path: no host file" "$name" 0 1
  no_host_leak "$name"
done

# Symlinks that point out of the tree resolve inside it (or fail).
for path in /escape1/passwd /escape1/hostname /escape1/shadow /escape2/passwd /escape2/hostname \
  /escape3/etc/passwd /escape3/etc/hostname /escape4/secret.txt /escape5/secret.txt \
  /escape6/etc/hostname /escape7/etc/hostname; do
  name=link_$(echo "$path" | tr -c 'A-Za-z0-9' '_')
  in_tree "$name" /bin/cat "$path"
  expect_status "cat $path: no host file" "$name" 0 1
  no_host_leak "$name"
done
in_tree link_passwd_in_tree /bin/cat /escape1/passwd /escape2/passwd
expect_grep "absolute symlink /etc resolves to the tree's /etc" "$E2E_TMP/link_passwd_in_tree.out" "^$TREE_MARK\$"
for dir in /escape1 /escape2 /escape3 /escape4 /escape5 /escape3/etc /escape6/etc; do
  name=lsdir_$(echo "$dir" | tr -c 'A-Za-z0-9' '_')
  in_tree "$name" /bin/ls "$dir"
  expect_status "ls $dir: exits cleanly" "$name" 0 1
  expect_no_fixed "ls $dir: host's shadow not listed" "$E2E_TMP/$name.out" shadow
  expect_no_fixed "ls $dir: outside secret.txt not listed" "$E2E_TMP/$name.out" secret.txt
done

finish
