#!/bin/bash
# The guest's root is an overlay: it may write, delete and rename anywhere
# (here under /etc and /usr), sees its own changes, and the host tree never
# changes. A second sandbox starts from the pristine host tree again, and
# --overlay none gives the read-only root back.
source "$(dirname "$0")/lib.sh"

# What the host has where the guest writes: names, sizes, modes, owners,
# mtimes, link counts and contents of the small files touched.
snapshot() {
  {
    find /etc /usr/local/share /usr/share/doc/base-files -xdev \
      -printf '%p %y %s %m %U %G %T@ %n\n' 2>/dev/null | sort
    md5sum /etc/motd /etc/issue /etc/hostname /etc/debian_version /etc/host.conf /etc/magic 2>/dev/null
  } >"$1"
}

for f in /etc/motd /etc/issue /etc/hostname /etc/debian_version /etc/host.conf /etc/magic /etc/apt /etc/default; do
  if [[ ! -e $f ]]; then
    echo "FAIL: the host has no $f; the test needs it"
    exit 1
  fi
done
if [[ -e /etc/moat-ovl-new || -e /usr/local/share/moat-ovl ]]; then
  echo "FAIL: leftovers of an earlier run on the host"
  exit 1
fi

snapshot "$E2E_TMP/host.before"

run writes "$MOAT" do -- /bin/bash -c '
set -e
echo new > /etc/moat-ovl-new
echo "created: $(cat /etc/moat-ovl-new)"
echo moat-ovl-line >> /etc/motd
echo "appended: $(tail -n 1 /etc/motd)"
rm /etc/hostname
test ! -e /etc/hostname && echo "removed: hostname"
ls /etc | grep -qx hostname || echo "unlisted: hostname"
mv /etc/issue /etc/issue.moved
test ! -e /etc/issue && test -s /etc/issue.moved && echo "renamed: issue"
mkdir -p /usr/local/share/moat-ovl/sub
echo deep > /usr/local/share/moat-ovl/sub/f
echo "nested: $(cat /usr/local/share/moat-ovl/sub/f)"
chmod 600 /etc/motd
echo "chmod: $(stat -c %a /etc/motd)"
chown 123:456 /etc/issue.moved
echo "chown: $(stat -c %u:%g /etc/issue.moved)"
touch -d @1000000000 /etc/debian_version
echo "touch: $(stat -c %Y /etc/debian_version)"
ln /etc/debian_version /etc/dv.link
[ "$(stat -c %i /etc/dv.link)" = "$(stat -c %i /etc/debian_version)" ] && echo "link: $(stat -c %h /etc/dv.link)"
rm -rf /etc/apt
test ! -e /etc/apt && echo "rm -rf: apt"
mkdir /etc/apt
echo "opaque: $(ls -A /etc/apt | wc -l)"
mv /etc/default /etc/default.moved
test ! -e /etc/default && test -d /etc/default.moved && echo "dir moved: $(ls /etc/default.moved | wc -l) entries"
cp -a /usr/share/doc/base-files /tmp/bf && rm -rf /usr/share/doc/base-files
test ! -e /usr/share/doc/base-files && test -d /tmp/bf && echo "moved to /tmp: base-files"
/usr/bin/python3 -c "import os; os.rename(\"/etc/moat-ovl-new\", \"/etc/host.conf\")"
echo "rename over: $(cat /etc/host.conf)"
truncate -s 0 /etc/magic
echo "truncate: $(stat -c %s /etc/magic)"
echo "fstype: $(stat -f -c %t /)"
'
expect_status "the guest writes, deletes and renames under /etc and /usr" writes 0
for line in "created: new" "appended: moat-ovl-line" "removed: hostname" "unlisted: hostname" \
  "renamed: issue" "nested: deep" "chmod: 600" "chown: 123:456" "touch: 1000000000" "link: 2" \
  "rm -rf: apt" "opaque: 0" "moved to /tmp: base-files" "rename over: new" "truncate: 0" "fstype: 794c7630"; do
  expect_grep "inside: $line" "$E2E_TMP/writes.out" "^$line\$"
done
expect_grep "inside: a directory with host content moves (by copy)" "$E2E_TMP/writes.out" '^dir moved: [1-9][0-9]* entries$'

snapshot "$E2E_TMP/host.after"
if cmp -s "$E2E_TMP/host.before" "$E2E_TMP/host.after"; then
  pass "the host tree is unchanged"
else
  fail "the host tree changed:"
  diff "$E2E_TMP/host.before" "$E2E_TMP/host.after" | head -n 20 | sed 's/^/    | /'
fi

# A new sandbox sees the host tree, not the last one's changes.
run again "$MOAT" do -- /bin/sh -c 'test -e /etc/hostname && test -e /etc/issue && test ! -e /etc/moat-ovl-new && ls /etc/apt | wc -l'
expect_status "a second sandbox starts from the host tree" again 0
expect_grep "a second sandbox sees /etc/apt's entries again" "$E2E_TMP/again.out" '^[1-9][0-9]*$'

# Python's own view: stat of a copied-up file keeps its inode; fstat agrees
# with stat; the overlay reports itself in statfs.
run python "$MOAT" do -- "$PYTHON" -c '
import os
before = os.stat("/etc/motd").st_ino
with open("/etc/motd", "a") as f:
    f.write("x\n")
    print("same fd ino:", os.fstat(f.fileno()).st_ino == os.stat("/etc/motd").st_ino)
print("ino kept:", os.stat("/etc/motd").st_ino == before)
'
expect_status "python in the overlay" python 0
expect_grep "a copy-up keeps the inode number" "$E2E_TMP/python.out" '^ino kept: True$'
expect_grep "fstat and stat agree after copy-up" "$E2E_TMP/python.out" '^same fd ino: True$'

# Finer points, from python: merged listings, whiteouts and opaque
# directories, EXDEV for host directories, copy-up under mmap and exec, the
# inode numbers getdents and stat give.
cat >"$E2E_TMP/finer.py" <<'PY'
import errno, mmap, os, shutil, subprocess

def check(name, cond):
    print(("ok: " if cond else "FAIL: ") + name)

def errno_of(fn, *args):
    try:
        fn(*args)
        return 0
    except OSError as e:
        return e.errno

before = set(os.listdir("/etc"))
with open("/etc/ovl-a", "w") as f:
    f.write("a")
os.unlink("/etc/motd")
check("readdir merges upper and lower entries", set(os.listdir("/etc")) == (before | {"ovl-a"}) - {"motd"})
with open("/etc/motd", "w") as f:
    f.write("fresh")
check("a file made where one was removed is new", open("/etc/motd").read() == "fresh")

check("rmdir of a host directory with entries is ENOTEMPTY", errno_of(os.rmdir, "/etc/default") == errno.ENOTEMPTY)
for name in os.listdir("/etc/default"):
    os.unlink("/etc/default/" + name)
os.rmdir("/etc/default")
check("rmdir once emptied", not os.path.exists("/etc/default"))
os.mkdir("/etc/default")
check("a directory made again is empty (opaque)", os.listdir("/etc/default") == [])

check("rename of a host directory is EXDEV", errno_of(os.rename, "/etc/apt", "/etc/apt2") == errno.EXDEV)
os.makedirs("/usr/local/ovl/x")
with open("/usr/local/ovl/x/f", "w") as f:
    f.write("1")
os.rename("/usr/local/ovl", "/usr/local/ovl2")
check("rename of a directory made in the overlay", open("/usr/local/ovl2/x/f").read() == "1")
os.rename("/etc/issue.net", "/usr/share/issue.net.moved")
check("rename of a host file to another directory",
      not os.path.exists("/etc/issue.net") and os.path.getsize("/usr/share/issue.net.moved") > 0)

ino = os.stat("/etc/host.conf").st_ino
fd = os.open("/etc/host.conf", os.O_RDWR)
m = mmap.mmap(fd, 0)
m[0:1] = b"%"
m.flush()
m.close()
os.close(fd)
check("a shared mapping writes the copy", open("/etc/host.conf", "rb").read(1) == b"%")
check("the copy keeps the inode number", os.stat("/etc/host.conf").st_ino == ino)

os.link("/etc/host.conf", "/etc/host.conf.link")
check("a hard link of a copied file", os.stat("/etc/host.conf.link").st_ino == ino and os.stat("/etc/host.conf").st_nlink == 2)

shutil.copy("/bin/true", "/usr/local/bin/ovl-true")
check("a program written into /usr/local/bin runs", subprocess.call(["/usr/local/bin/ovl-true"]) == 0)
with open("/usr/local/bin/ovl-script", "w") as f:
    f.write("#!/bin/sh\necho script ran\n")
os.chmod("/usr/local/bin/ovl-script", 0o755)
check("a script written into /usr/local/bin runs",
      subprocess.check_output(["ovl-script"], env={"PATH": "/usr/local/bin:/usr/bin:/bin"}) == b"script ran\n")

fd = os.open("/etc/passwd", os.O_RDONLY)
os.unlink("/etc/passwd")
check("an open host file reads after its unlink", len(os.read(fd, 5)) == 5 and not os.path.exists("/etc/passwd"))
os.close(fd)

target = os.readlink("/etc/localtime")
os.lchown("/etc/localtime", 5, 6)
check("lchown copies a symlink up", os.lstat("/etc/localtime").st_uid == 5 and os.readlink("/etc/localtime") == target)

dev = os.stat("/").st_dev
check("one st_dev for the whole overlay",
      all(os.lstat(p).st_dev == dev for p in ("/etc", "/etc/ovl-a", "/usr/bin/env", "/etc/host.conf")))
with os.scandir("/etc") as it:
    entries = {e.name: e.inode() for e in it}
check("getdents and stat agree on inode numbers",
      all(entries[n] == os.lstat("/etc/" + n).st_ino for n in ("ovl-a", "host.conf", "hosts", "default")))

fd = os.open("/etc/hosts", os.O_WRONLY | os.O_TRUNC)
os.close(fd)
check("O_TRUNC on a host file", os.path.getsize("/etc/hosts") == 0)
os.mkfifo("/etc/ovl-fifo")
check("mkfifo in the overlay", os.path.exists("/etc/ovl-fifo"))
check("chmod by a non-owner is EPERM", subprocess.call(
    ["/usr/bin/python3", "-c", "import os; os.setuid(1000); os.chmod('/etc/fstab', 0o777)"], stderr=subprocess.DEVNULL) != 0)
PY
run finer "$MOAT" do -- "$PYTHON" "$E2E_TMP/finer.py"
expect_status "the finer points run" finer 0
if grep -q '^FAIL' "$E2E_TMP/finer.out" || ! grep -q '^ok' "$E2E_TMP/finer.out"; then
  fail "the finer points:"
  sed 's/^/    | /' "$E2E_TMP/finer.out" "$E2E_TMP/finer.err" | head -n 40
else
  pass "the finer points ($(grep -c '^ok' "$E2E_TMP/finer.out") checks)"
fi
for p in /usr/local/bin/ovl-true /usr/local/bin/ovl-script /usr/local/ovl /usr/local/ovl2 /usr/share/issue.net.moved; do
  if [[ -e $p ]]; then
    fail "the guest's $p reached the host"
  else
    pass "the host has no $p"
  fi
done
snapshot "$E2E_TMP/host.after2"
if cmp -s "$E2E_TMP/host.before" "$E2E_TMP/host.after2"; then
  pass "the host tree is still unchanged"
else
  fail "the host tree changed:"
  diff "$E2E_TMP/host.before" "$E2E_TMP/host.after2" | head -n 20 | sed 's/^/    | /'
fi

# --overlay none: the read-only root of before.
run none "$MOAT" do --overlay none -- /bin/sh -c 'echo x > /etc/moat-ovl-none'
expect_status "--overlay none refuses writes to the root" none 1 2
expect_grep "--overlay none: EROFS" "$E2E_TMP/none.err" 'Read-only file system'
if [[ -e /etc/moat-ovl-none ]]; then
  fail "--overlay none wrote to the host"
  rm -f /etc/moat-ovl-none
else
  pass "--overlay none left the host alone"
fi
run badflag "$MOAT" do --overlay sometimes -- /bin/true
expect_status "--overlay with a bad value is a usage error" badflag 2

# Names made in the overlay and looked up again in the same call (a unix
# socket bound in a host directory, a directory tree made by mkdir -p) never
# see the change twice when the walk leaves host lookups to io_uring.
SOCKDIR=/var/tmp/moat-ovl-sock.$$
run sock "$MOAT" do -- "$PYTHON" -c "
import os, socket
os.makedirs('$SOCKDIR/a/b/c')
s = socket.socket(socket.AF_UNIX)
s.bind('$SOCKDIR/a/b/c/sock')
s.listen()
c = socket.socket(socket.AF_UNIX); c.connect('$SOCKDIR/a/b/c/sock')
print('bound and connected', os.path.exists('$SOCKDIR/a/b/c/sock'))
"
expect_status "a unix socket bound in a host directory under the overlay" sock 0
expect_grep "inside: bind, then connect by path" "$E2E_TMP/sock.out" '^bound and connected True$'
[[ ! -e $SOCKDIR ]] && pass "host: the socket's directories stayed in the sandbox" || fail "host: $SOCKDIR exists"

# Copy-up of a large lower file runs on io_uring, not on the worker: with
# one worker (the sentry limited to one CPU), another thread's syscalls are
# served while the first thread's open(O_RDWR) copies 256 MiB. A copy made
# on the worker would leave the other thread without a single getpid.
BIG=$E2E_TMP/big-lower
head -c $((256 << 20)) /dev/zero >"$BIG"
printf 'tail of the file' >>"$BIG"
BIG_SUM=$(md5sum <"$BIG")
run copyup taskset -c 0 "$MOAT" do -- "$PYTHON" -c "
import hashlib, os, threading, time
count, stop = 0, False
def spin():
    global count
    while not stop:
        os.getpid()
        count += 1
t = threading.Thread(target=spin)
t.start()
time.sleep(0.2)
before = count
fd = os.open('$BIG', os.O_RDWR)
during = count - before
stop = True
t.join()
os.pwrite(fd, b'head', 0)
os.close(fd)
print('served during the copy:', 'yes' if during >= 20 else 'no (%d getpid)' % during)
h = hashlib.md5()
with open('$BIG', 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
        h.update(block)
print('size', os.path.getsize('$BIG'), 'md5', h.hexdigest())
"
expect_status "copy-up of a 256 MiB lower file" copyup 0
expect_grep "inside: another thread is served while the copy runs" "$E2E_TMP/copyup.out" '^served during the copy: yes$'
WANT_SUM=$({ printf head; tail -c +5 "$BIG"; } | md5sum | cut -d' ' -f1)
expect_grep "inside: the copy holds the lower data and the write" "$E2E_TMP/copyup.out" "^size $(((256 << 20) + 16)) md5 $WANT_SUM\$"
[[ $(md5sum <"$BIG") == "$BIG_SUM" ]] && pass "host: the large lower file is unchanged" || fail "host: $BIG changed"
rm -f "$BIG"

finish
