#!/bin/bash
# Real programs on moat's file systems, natively and inside `moat do` (issue 5's
# acceptance): sqlite3 with a WAL database, git, tar of 10,000 files into
# tmpfs, a shell on a pty from Python. Each program works in a directory of its
# own under /tmp: the host's natively, the sandbox's private tmpfs in moat.
source "$(dirname "$0")/lib.sh"
E2E_TIMEOUT=${E2E_TIMEOUT_APPS:-180}

# sqlite3: a WAL database, 100k rows inserted from Python's sqlite3 module,
# counted and checked by the sqlite3 shell.
cat >"$E2E_TMP/sqlite.sh" <<'EOF'
set -e
dir=$(mktemp -d /tmp/moat-sqlite.XXXXXX)
trap 'rm -rf "$dir"' EXIT
db=$dir/t.db
sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
/usr/bin/python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO t(b) VALUES(?)", (("row%d" % i,) for i in range(100000)))
c.commit()
print(c.execute("SELECT count(*), sum(length(b)) FROM t").fetchone())
PY
ls "$dir" | sort
sqlite3 "$db" "PRAGMA journal_mode; PRAGMA integrity_check; SELECT count(*), min(a), max(a) FROM t;"
EOF
if command -v sqlite3 >/dev/null; then
  compare "sqlite3: WAL database, 100k rows, integrity_check" cat /bin/sh "$E2E_TMP/sqlite.sh"
  expect_grep "sqlite3: the integrity check says ok" "$(ls "$E2E_TMP"/moat_sqlite3*.out)" '^ok$'
else
  fail "sqlite3 is not installed (scripts/setup-deps installs it)"
fi

# git: init, add, commit twice, log, fsck, cat-file.
cat >"$E2E_TMP/git.sh" <<'EOF'
set -e
dir=$(mktemp -d /tmp/moat-git.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export GIT_CONFIG_NOSYSTEM=1 HOME=$dir GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
git init -q -b main .
git config user.email moat@example.invalid
git config user.name moat
for i in $(seq 1 50); do echo "file $i" >"f$i.txt"; done
mkdir -p sub/deeper && echo deep >sub/deeper/d.txt
git add . && git commit -q -m first
echo change >>f1.txt && git mv f2.txt renamed.txt && git commit -qam second
git log --format='%H %s'
git status --porcelain
git fsck --strict 2>&1
git cat-file -p HEAD:sub/deeper/d.txt
git diff --stat HEAD~1 HEAD
EOF
if command -v git >/dev/null; then
  compare "git: init, add, commit, log, fsck" cat /bin/sh "$E2E_TMP/git.sh"
else
  fail "git is not installed (scripts/setup-deps installs it)"
fi

# tar: an archive of 10,000 files (100 directories of 100) made here, extracted
# into tmpfs; the file count and the checksums of a sample match.
mkdir -p "$E2E_TMP/tarsrc"
/usr/bin/python3 - "$E2E_TMP/tarsrc" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(os.path.join(root, "d%02d" % d), exist_ok=True)
    for f in range(100):
        with open(os.path.join(root, "d%02d" % d, "f%03d" % f), "w") as out:
            out.write(("%d.%d\n" % (d, f)) * f)
PY
tar -C "$E2E_TMP/tarsrc" -czf "$E2E_TMP/files.tgz" .
cat >"$E2E_TMP/tar.sh" <<EOF
set -e
dir=\$(mktemp -d /tmp/moat-tar.XXXXXX)
trap 'rm -rf "\$dir"' EXIT
tar -C "\$dir" -xzf "$E2E_TMP/files.tgz"
cd "\$dir"
find . | wc -l
find . -type f | wc -l
cat d07/f0*9 d99/f099 | md5sum
EOF
compare "tar xzf of 10,000 files into tmpfs, find | wc -l" cat /bin/sh "$E2E_TMP/tar.sh"

# Python's pty module: a shell on a pty, its output read from the master.
cat >"$E2E_TMP/pty_shell.py" <<'EOF'
import os, pty
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", "tty >/dev/null && echo stdin is a tty; echo hello from $0; stty size"])
out = b""
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:  # EIO once the child side is closed
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
print(out.decode().replace("\r", ""), end="")
print("exit", os.waitstatus_to_exitcode(status))
EOF
compare "python3 pty.fork: a shell on a pty" cat "$PYTHON" "$E2E_TMP/pty_shell.py"
compare "python3 pty.spawn with stdin not a tty" cat "$PYTHON" -c \
  'import pty, sys; sys.exit(pty.spawn(["/bin/sh", "-c", "echo spawned; exit 3"]) >> 8)'

finish
