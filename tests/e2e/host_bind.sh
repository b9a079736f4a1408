#!/bin/bash
# `moat do --bind HOST:GUEST[:ro]`: a read-write bind of a host directory is
# a writable hostfs, so the guest's creates, appends, renames and deletes
# reach the host directory (and only it); fsync works; a ':ro' bind is EROFS;
# symlinks, '..' and renames never take a guest write outside the bound
# directory; renames and links across the bind's boundary are EXDEV.
source "$(dirname "$0")/lib.sh"

A=$E2E_TMP/area      # holds the three below and nothing else
B=$A/bound           # bound read-write (and read-only, at a second place)
O=$A/outside         # beside it, never bound: must never change
F=$A/file.txt        # a single file bound read-write
mkdir -p "$B/olddir/sub" "$O"
echo keep >"$O/canary"
echo orig >"$B/existing"
echo old >"$B/olddir/sub/f"
echo file-orig >"$F"
ln -s "$O/canary" "$B/abs-out"       # an absolute host path out of the bind
ln -s ../outside/canary "$B/rel-out" # a relative one, out past the bind root
# The names beside the bind, and everything of the never-bound directory.
snapshot_outside() { (cd "$A" && ls -A; find "$O" -printf '%p %y %s %m %T@\n' | sort; md5sum "$O/canary"); }
snapshot_outside >"$E2E_TMP/outside.before"

run rw "$MOAT" do --bind "$B:/mnt/rw" --bind "$B:/mnt/ro:ro" --bind "$F:/etc/moat-bound-file" -- /bin/bash -c '
set -e
cd /mnt/rw
echo hello > new.txt
echo more >> new.txt
mkdir -p d/e
echo x > d/e/f
mv new.txt renamed.txt
mv olddir movedir
rm existing
mkdir gone
rmdir gone
ln -s target sym
ln renamed.txt hard
chmod 640 renamed.txt
touch -d @1000000000 renamed.txt
mkfifo fifo
echo "stat: $(stat -c "%a %Y %h %s" renamed.txt)"
echo appended-line >> /etc/moat-bound-file
/usr/bin/python3 - <<EOF
import errno, os
fd = os.open("synced", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
os.write(fd, b"abc")
os.fsync(fd); os.fdatasync(fd)
os.pwrite(fd, b"Z", 1)
os.ftruncate(fd, 5)
os.close(fd)
print("fsync: ok")
d = os.open(".", os.O_RDONLY | os.O_DIRECTORY); os.fsync(d); os.close(d)
print("dir fsync: ok")
fd = os.open("app", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
os.write(fd, b"1"); os.pwrite(fd, b"2", 0); os.close(fd)
print("append:", open("app").read())
try:
    os.open("synced", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
except OSError as e:
    print("excl:", errno.errorcode[e.errno])
# A FIFO on the bind carries data between guest processes.
if os.fork() == 0:
    w = os.open("fifo", os.O_WRONLY); os.write(w, b"through-fifo"); os._exit(0)
r = os.open("fifo", os.O_RDONLY); print("fifo:", os.read(r, 100).decode()); os.close(r); os.wait()
def err(f, *a):
    try:
        f(*a); return "ok?!"
    except OSError as e:
        return errno.errorcode[e.errno]
print("rename to overlay:", err(os.rename, "renamed.txt", "/mnt/x"))
print("rename to ro bind:", err(os.rename, "renamed.txt", "/mnt/ro/x"))
print("rename to tmpfs:", err(os.rename, "renamed.txt", "/tmp/x"))
print("rename from overlay:", err(os.rename, "/etc/hostname", "/mnt/rw/h"))
print("link to overlay:", err(os.link, "renamed.txt", "/mnt/linked"))
print("ro create:", err(os.open, "/mnt/ro/q", os.O_CREAT | os.O_WRONLY))
print("ro write:", err(os.open, "/mnt/ro/renamed.txt", os.O_WRONLY))
print("ro mkdir:", err(os.mkdir, "/mnt/ro/q"))
print("ro unlink:", err(os.unlink, "/mnt/ro/renamed.txt"))
print("ro rename:", err(os.rename, "/mnt/ro/renamed.txt", "/mnt/ro/q"))
print("dir into itself:", err(os.rename, "d", "d/e/inner"))
print("rmdir nonempty:", err(os.rmdir, "d"))
EOF
# Escapes: each write lands in the sandbox (overlay), never outside the bind.
echo pwned > abs-out
echo pwned > /mnt/rw/../canary2
echo pwned > /mnt/rw/../../canary3
cd /mnt/rw/..; echo pwned > canary4
echo "ro view: $(cat /mnt/ro/renamed.txt | head -n 1)"
'
expect_status "the guest changes a read-write bind" rw 0
for line in "stat: 640 1000000000 2 11" "fsync: ok" "dir fsync: ok" "append: 12" "excl: EEXIST" "fifo: through-fifo" \
  "rename to overlay: EXDEV" "rename to ro bind: EXDEV" "rename to tmpfs: EXDEV" "rename from overlay: EXDEV" \
  "link to overlay: EXDEV" "ro create: EROFS" "ro write: EROFS" "ro mkdir: EROFS" "ro unlink: EROFS" \
  "ro rename: EROFS" "dir into itself: EINVAL" "rmdir nonempty: ENOTEMPTY" "ro view: hello"; do
  expect_grep "inside: $line" "$E2E_TMP/rw.out" "^$line\$"
done

# The host directory holds exactly what the guest left there.
(cd "$B" && find . -mindepth 1 -printf '%P %y %m %n\n' | sort) >"$E2E_TMP/tree.got"
cat >"$E2E_TMP/tree.want" <<'EOF'
abs-out l 777 1
app f 644 1
d d 755 3
d/e d 755 2
d/e/f f 644 1
fifo p 644 1
hard f 640 2
movedir d 755 3
movedir/sub d 755 2
movedir/sub/f f 644 1
rel-out l 777 1
renamed.txt f 640 2
sym l 777 1
synced f 600 1
EOF
if diff -u "$E2E_TMP/tree.want" "$E2E_TMP/tree.got" >"$E2E_TMP/tree.diff"; then
  pass "the host directory has the guest's tree"
else
  fail "the host directory differs from what the guest made:"
  sed 's/^/    | /' "$E2E_TMP/tree.diff" | head -n 30
fi
check_content() {
  local label=$1 file=$2 want=$3
  if [[ -e $file && $(cat "$file") == "$want" ]]; then pass "$label"; else fail "$label: $(cat "$file" 2>&1)"; fi
}
check_content "host: created and appended" "$B/renamed.txt" $'hello\nmore'
check_content "host: nested file" "$B/d/e/f" x
check_content "host: moved directory content" "$B/movedir/sub/f" old
[[ $(od -An -c "$B/synced" | tr -s ' ') == " a Z c \0 \0" ]] && pass "host: pwrite and ftruncate" ||
  fail "host: pwrite and ftruncate: $(od -An -c "$B/synced")"
[[ $(stat -c %s "$B/synced") == 5 ]] && pass "host: ftruncate size" || fail "host: ftruncate size $(stat -c %s "$B/synced")"
[[ $(stat -c %Y "$B/renamed.txt") == 1000000000 ]] && pass "host: utimensat" || fail "host: utimensat"
[[ $(readlink "$B/sym") == target ]] && pass "host: symlink target" || fail "host: symlink target"
[[ $(stat -c %i "$B/hard") == $(stat -c %i "$B/renamed.txt") ]] && pass "host: hard link" || fail "host: hard link"
check_content "host: a bound file takes the append" "$F" $'file-orig\nappended-line'

snapshot_outside >"$E2E_TMP/outside.after"
if cmp -s "$E2E_TMP/outside.before" "$E2E_TMP/outside.after"; then
  pass "nothing outside the bound directory changed (symlink out, '..' past the root, renames out)"
else
  fail "something outside the bind changed:"
  diff "$E2E_TMP/outside.before" "$E2E_TMP/outside.after" | head -n 20 | sed 's/^/    | /'
fi
[[ $(cat "$O/canary") == keep ]] && pass "the canary behind the symlinks is intact" || fail "the canary changed"

# A bind at its own host path: '..' and an absolute symlink name host paths
# the guest sees through the overlay, so writes there stay in the sandbox.
run same "$MOAT" do --bind "$B:$B" -- /bin/bash -c "
echo pwned > '$B/abs-out'; echo pwned > '$B/rel-out'; echo pwned > '$B/../outside/canary'
echo pwned > '$B/../new-outside'; cat '$O/canary'"
expect_status "a bind at its own path" same 0
expect_grep "inside: the guest sees its own writes" "$E2E_TMP/same.out" '^pwned$'
[[ $(cat "$O/canary") == keep && ! -e $A/new-outside ]] && pass "host: the canary and its directory are untouched" ||
  fail "host: a write escaped the bind"

# The sandbox's names follow its own renames and deletes on a bind (getcwd,
# /proc/PID/cwd and fd links, as d_path does), and a change the host makes
# while the sandbox runs shows at the next lookup (the cache revalidates).
C=$A/coherent
mkdir -p "$C/d"
echo v1 >"$C/d/f"
run coherent "$MOAT" do --bind "$C:/mnt/c" -- /usr/bin/python3 -c "
import os, time
os.chdir('/mnt/c/d')
os.rename('/mnt/c/d', '/mnt/c/e')
print('cwd:', os.getcwd(), os.readlink('/proc/self/cwd'))
fd = os.open('/mnt/c/e/f', os.O_RDONLY)
os.unlink('/mnt/c/e/f')
print('fd:', os.readlink('/proc/self/fd/%d' % fd))
os.close(fd)
open('/mnt/c/e/g', 'w').write('g1')
os.rename('/mnt/c/e/g', '/mnt/c/e/h')
print('fd2:', open('/mnt/c/e/h').read())
fd = os.open('/mnt/c/e/h', os.O_RDONLY)
os.rename('/mnt/c/e/h', '/mnt/c/e/i')
print('moved:', os.readlink('/proc/self/fd/%d' % fd))
print('before:', open('/mnt/c/e/i').read(), flush=True)
# The host replaces the file under the sandbox.
for _ in range(500):
    if os.path.exists('/mnt/c/e/ready'): break
    time.sleep(0.02)
print('after:', open('/mnt/c/e/i').read().strip(), os.path.exists('/mnt/c/e/j'))
" &
for _ in $(seq 100); do [[ -e $C/e/i ]] && break; sleep 0.05; done
echo i2 >"$C/e/i.new" && mv "$C/e/i.new" "$C/e/i" && touch "$C/e/j" "$C/e/ready"
wait
expect_status "renames and deletes on a bind, seen from inside" coherent 0
for line in "cwd: /mnt/c/e /mnt/c/e" "fd: /mnt/c/e/f .deleted." "fd2: g1" "moved: /mnt/c/e/i" "before: g1" \
  "after: i2 True"; do
  expect_grep "inside: $line" "$E2E_TMP/coherent.out" "^$line\$"
done

# Usage errors.
run badbind "$MOAT" do --bind /nonexistent-moat-dir:/x -- /bin/true
expect_status "--bind of a missing host path is a usage error" badbind 2
run relbind "$MOAT" do --bind "$B:relative" -- /bin/true
expect_status "--bind to a relative guest path is a usage error" relbind 2

# fsync of the caller's stdio: a host file is flushed on the host, a pipe
# is EINVAL, as on Linux.
"$MOAT" do -- "$PYTHON" -c '
import errno, os, sys
os.fsync(1)
try:
    os.fsync(2)
    print("pipe fsync: no error", file=sys.stderr)
except OSError as e:
    print("pipe fsync:", errno.errorcode[e.errno], file=sys.stderr)
print("flushed")
' 2>&1 >"$E2E_TMP/stdio.file" | cat >"$E2E_TMP/stdio.err"
expect_grep "fsync of stdout redirected to a host file" "$E2E_TMP/stdio.file" '^flushed$'
expect_grep "fsync of stderr on a pipe is EINVAL" "$E2E_TMP/stdio.err" '^pipe fsync: EINVAL$'

run help "$MOAT" help
expect_grep "moat help documents --bind" "$E2E_TMP/help.out" '--bind HOST:GUEST\[:ro\]'

finish
