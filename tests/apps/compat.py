#!/usr/bin/python3
"""The app compatibility matrix (run through scripts/compat).

Runs real programs from Debian packages natively and inside moat, compares
their exit status and output (stdout, or stderr for the `-version` style cases
that print there), and writes docs/compat.md. A case is run natively first; the
moat run passes when it exits the same way and prints the same (normalised)
output. A failure is run again under `moat do --strace`, and the unimplemented
system calls it met (in order of first use) become the reason; without any, the
reason is the first differing line.

With --python it runs a fixed list of CPython's own regression test modules
(Debian's libpython3.11-testsuite) in-process with unittest, natively and in
moat, and records the per-module counts.

Everything a guest reads is staged under /var/tmp (the guest's /tmp is the
sandbox's own in-memory filesystem); everything it writes goes to /tmp, which
natively is the host's /tmp (cleaned up afterwards, names carry our pid).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import glob
import hashlib
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

SRC = Path(__file__).resolve().parents[2]
APPS = SRC / "tests" / "apps"
DOC = SRC / "docs" / "compat.md"
EXPECTED_QUICK = APPS / "expected-quick.txt"
PYTHON = "/usr/bin/python3"

CASE_TIMEOUT = 30  # seconds, per run of an app case (native or moat)
PY_NATIVE_TIMEOUT = 300  # seconds, per CPython test module natively
PY_MOAT_TIMEOUT = 120  # seconds, per CPython test module inside moat
FIXED_MTIME = 1700000000  # staged files get this mtime, so listings agree

QUICK_GROUPS = {"busybox", "coreutils", "python3", "perl"}

PY_MODULES = [
    "test_os", "test_posix", "test_stat", "test_fileio", "test_io", "test_tempfile",
    "test_shutil", "test_pathlib", "test_glob", "test_subprocess", "test_signal",
    "test_threading", "test_select", "test_selectors", "test_epoll", "test_fcntl",
    "test_pty", "test_socket", "test_time", "test_mmap",
]
PY_TESTSUITE_PACKAGE = "libpython3.11-testsuite"

# The environment every run gets, native and moat alike (moat passes the
# caller's environment to the guest). PATH leaves out version-manager shims.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "TERM": "dumb",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Running programs


@dataclasses.dataclass
class Run:
    status: Optional[int]  # shell-style exit status (128+N for signal N); None on a hang
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def hang(self) -> bool:
        return self.status is None


def shell_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def describe_status(status: Optional[int]) -> str:
    if status is None:
        return "hang"
    if status > 128 and status - 128 < 65:
        try:
            return f"exit {status} ({signal.Signals(status - 128).name})"
        except ValueError:
            pass
    return f"exit {status}"


def kill_group(proc: subprocess.Popen) -> None:
    """Ends a process we started (in a session of its own) and its group."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(argv: list[str], *, cwd: Path, env: dict, timeout: float) -> Run:
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return Run(shell_status(proc.returncode), out, err, time.monotonic() - start)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return Run(None, out, err, time.monotonic() - start)


# ---------------------------------------------------------------------------
# moat facts


class Moat:
    def __init__(self, path: Path):
        self.path = path
        self.unimplemented = self._unimplemented()
        try:
            self.version = subprocess.run([str(path), "--version"], capture_output=True,
                                          text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            self.version = "unknown"

    def _unimplemented(self) -> set[str]:
        """Syscalls the coverage table marks unimplemented (`moat help syscalls`)."""
        out = subprocess.run([str(self.path), "help", "syscalls"], capture_output=True,
                             text=True, timeout=10).stdout
        names = set()
        for line in out.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[2] == "unimplemented":
                names.add(cells[1])
        return names

    def argv(self, argv: list[str], strace: Optional[str] = None) -> list[str]:
        flags = [f"--strace={strace}" if strace and strace != "full" else "--strace"] if strace else []
        return [str(self.path), "do", *flags, "--", *argv]

    STRACE_ENOSYS = re.compile(r"^\[pid \d+\] ([a-z0-9_]+)\(.*\) = -1 ENOSYS\b", re.M)

    def enosys_in_strace(self, stderr: bytes) -> list[str]:
        """Unimplemented syscalls in an strace log, in order of first use."""
        seen: list[str] = []
        for m in self.STRACE_ENOSYS.finditer(stderr.decode(errors="replace")):
            name = m.group(1)
            if name in self.unimplemented and name not in seen:
                seen.append(name)
        return seen

    @staticmethod
    def unimplemented_in_summary(stderr: str) -> dict[str, int]:
        """{syscall: calls} for the lines `--strace=summary` marks (unimplemented)."""
        calls: dict[str, int] = {}
        for line in stderr.splitlines():
            m = re.search(r"(\d+)\s+([a-z0-9_]+)\s+\(unimplemented\)", line)
            if m:
                calls[m.group(2)] = calls.get(m.group(2), 0) + int(m.group(1))
        return calls


# ---------------------------------------------------------------------------
# Packages


def installed(pkg: str) -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "installed"


def ensure_packages(packages: set[str], allow_install: bool) -> set[str]:
    """Installs what is missing (quietly); returns the packages still unavailable."""
    missing = sorted(p for p in packages if not installed(p))
    if not missing:
        return set()
    if not allow_install or not shutil.which("apt-get"):
        log(f"compat: not installing missing packages: {' '.join(missing)}")
        return set(missing)
    as_root = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"compat: installing {' '.join(missing)}")
    subprocess.run([*as_root, "apt-get", "update", "-qq"], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    candidates = []
    for pkg in missing:
        policy = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True).stdout
        m = re.search(r"Candidate:\s*(\S+)", policy)
        if m and m.group(1) != "(none)":
            candidates.append(pkg)
    install = [*as_root, "apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    if candidates and subprocess.run([*install, *candidates], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode != 0:
        for pkg in candidates:  # one by one, so one bad package does not sink the rest
            subprocess.run([*install, pkg], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    still = {p for p in missing if not installed(p)}
    if still:
        log(f"compat: unavailable: {' '.join(sorted(still))}")
    return still


# ---------------------------------------------------------------------------
# The app cases


class Ctx:
    """Where a run of the matrix stages its inputs and writes its outputs."""

    def __init__(self, moat: Moat, keep: bool):
        self.moat = moat
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="moat-compat.", dir="/var/tmp"))
        # Guest-written paths: under /tmp both natively and in moat, unique natively.
        self.tmp_name = f"moat-compat-{os.getpid()}"
        self.tmp = f"/tmp/{self.tmp_name}"
        self.home = self.work / "home"
        self.home.mkdir()
        self.env = dict(BASE_ENV, HOME=str(self.home))

    def cleanup(self) -> None:
        for path in glob.glob(f"{self.tmp}*"):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"compat: kept {self.work}")


WORDS = ("pear apple fig banana cherry date elderberry grape kiwi lemon mango "
         "nectarine orange papaya quince raspberry strawberry tangerine ugli vanilla "
         "watermelon xigua yam zucchini apple Banana cherry 42 7 Zebra").split()


def stage_inputs(ctx: Ctx) -> None:
    w = ctx.work
    (w / "input.txt").write_text("".join(
        f"line {i:03d}: the quick brown fox jumps over the lazy dog {i * i % 97}\n"
        for i in range(1, 201)))
    (w / "words.txt").write_text("\n".join(WORDS) + "\n")
    (w / "numbers.txt").write_text("".join(f"{(i * 7919) % 1000}\n" for i in range(50)))
    tree = w / "tree"
    files = {
        "README": "a small tree for ls, find, cp and tar\n",
        "src/main.c": "int main(void) { return 0; }\n",
        "src/util.h": "#pragma once\n",
        "docs/a.txt": "alpha\n" * 10,
        "docs/b.txt": "beta\n" * 20,
        "docs/deep/nested/c.txt": "gamma\n",
        "empty": "",
    }
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tree / "bin").mkdir()
    (tree / "bin" / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(tree / "bin" / "run.sh", 0o755)
    os.symlink("docs/a.txt", tree / "link-to-a")
    for root, dirs, names in os.walk(tree, topdown=False):
        for n in names + dirs:
            os.utime(Path(root) / n, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    os.utime(tree, (FIXED_MTIME, FIXED_MTIME))

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = FIXED_MTIME
        info.name = info.name.replace("tree", f"{ctx.tmp_name}-tree", 1)
        return info

    with tarfile.open(w / "data.tar", "w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(tree, arcname="tree", filter=clean)


def sort_lines(text: str) -> str:
    return "\n".join(sorted(text.splitlines())) + "\n"


@dataclasses.dataclass
class Server:
    """A case that serves: started in the background, probed over TCP on loopback."""
    argv: Callable[[Ctx, int, str], list[str]]  # (ctx, port, side) -> argv
    request: bytes
    expect: bytes


@dataclasses.dataclass
class Case:
    name: str
    group: str
    packages: list[str]
    argv: Callable[[Ctx], list[str]] | list[str]
    stream: str = "stdout"  # which output to compare
    binary: bool = False  # compare bytes, report a digest
    normalise: Optional[Callable[[str], str]] = None
    prepare: Optional[Callable[[Ctx], Optional[str]]] = None  # returns why it cannot run
    server: Optional[Server] = None
    note: str = ""  # what the case needs that moat lacks today, if known

    def command(self, ctx: Ctx) -> list[str]:
        return self.argv(ctx) if callable(self.argv) else list(self.argv)


PY_SCRIPT = r"""
import hashlib, json, os, re, sqlite3, tempfile
data = open("input.txt").read()
print("lines", data.count("\n"), "sha256", hashlib.sha256(data.encode()).hexdigest()[:16])
print("words", sorted(set(re.findall(r"[a-z]+", data))))
print("tree", sorted(os.listdir("tree")))
print(json.dumps({"squares": [i * i for i in range(8)], "ok": True}, sort_keys=True))
with tempfile.NamedTemporaryFile("w+", dir="/tmp", prefix="moat-compat-py") as f:
    f.write("x" * 1000); f.flush(); f.seek(0); print("tmpfile", len(f.read()))
db = sqlite3.connect(":memory:")
db.execute("create table t(k text, v int)")
db.executemany("insert into t values (?, ?)", [(w, len(w)) for w in "a bb ccc dddd".split()])
print("sqlite", db.execute("select group_concat(k), sum(v) from t").fetchone())
""".strip()

PERL_SCRIPT = r"""
open(my $fh, "<", "words.txt") or die "open: $!";
my @w = map { chomp; $_ } <$fh>;
my %seen; my @u = grep { !$seen{$_}++ } @w;
printf "%d words, %d distinct\n", scalar @w, scalar @u;
print join(",", sort { lc($a) cmp lc($b) or $a cmp $b } @u), "\n";
my $s = join("", @w); $s =~ s/[aeiou]//g; print length($s), "\n";
printf "%.5f\n", atan2(1, 1) * 4;
""".strip()

NODE_SCRIPT = ("const fs = require('fs'); const d = fs.readFileSync('words.txt', 'utf8');"
               "const w = d.trim().split('\\n'); console.log(w.length, [...new Set(w)].sort().join(','));"
               "console.log(JSON.stringify({sum: w.reduce((a, x) => a + x.length, 0)}));")

SQL = ("create table fruit(name text, n int);"
       "insert into fruit values ('apple', 3), ('pear', 5), ('fig', 1), ('kiwi', 8);"
       "select name, n from fruit where n > 2 order by n desc;"
       "select count(*), sum(n), avg(n) from fruit;"
       "with recursive c(x) as (select 1 union all select x + 1 from c where x < 10)"
       " select group_concat(x * x) from c;")


def build_goprog(ctx: Ctx) -> Optional[str]:
    """Builds tests/apps/goprog natively (static, CGO off) into the work dir."""
    env = dict(ctx.env, CGO_ENABLED="0", GOCACHE=str(ctx.work / "gocache"),
               GOPATH=str(ctx.work / "gopath"), GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    r = subprocess.run(["go", "build", "-o", str(ctx.work / "goprog"), "."], cwd=APPS / "goprog",
                       env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        first = (r.stderr.strip().splitlines() or ["?"])[0]
        return f"not run: go build failed: {first}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_argv(ctx: Ctx, port: int, side: str) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp", "--logfile", ""]


def nginx_argv(ctx: Ctx, port: int, side: str) -> list[str]:
    tmp = f"{ctx.tmp}-nginx-{side}"
    conf = ctx.work / f"nginx-{side}.conf"
    conf.write_text(f"""
daemon off;
master_process off;
worker_processes 1;
error_log stderr;
pid {tmp}.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}-body;
  proxy_temp_path {tmp}-proxy;
  fastcgi_temp_path {tmp}-fastcgi;
  uwsgi_temp_path {tmp}-uwsgi;
  scgi_temp_path {tmp}-scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "hello from nginx\\n"; }}
  }}
}}
""")
    return ["nginx", "-e", "stderr", "-p", str(ctx.work), "-c", str(conf)]


NEEDS_FORK = "needs fork/execve"


def cases() -> list[Case]:
    bb, cu = "busybox", "coreutils"
    return [
        # busybox applets
        Case("busybox echo", bb, ["busybox"], ["busybox", "echo", "hello", "from", "busybox"]),
        Case("busybox ls", bb, ["busybox"], ["busybox", "ls", "-l", "tree", "tree/docs"]),
        Case("busybox wc", bb, ["busybox"], ["busybox", "wc", "input.txt", "words.txt"]),
        Case("busybox sort", bb, ["busybox"], ["busybox", "sort", "words.txt"]),
        Case("busybox sha256sum", bb, ["busybox"], ["busybox", "sha256sum", "input.txt", "words.txt"]),
        Case("busybox tar -t", bb, ["busybox"], ["busybox", "tar", "-tvf", "data.tar"]),
        Case("busybox tar -c", bb, ["busybox"], ["busybox", "tar", "-cf", "-", "tree"], binary=True),
        Case("busybox tar -x (into /tmp)", bb, ["busybox"],
             ["busybox", "tar", "-xvf", "data.tar", "-C", "/tmp"], normalise=sort_lines),
        # coreutils and friends
        Case("coreutils ls", cu, ["coreutils"], ["ls", "-l", "tree", "tree/docs"]),
        Case("coreutils ls -aR", cu, ["coreutils"], ["ls", "-aR", "tree"]),
        Case("coreutils cat", cu, ["coreutils"], ["cat", "input.txt", "words.txt"]),
        Case("coreutils cp (into /tmp)", cu, ["coreutils"],
             lambda c: ["cp", "-v", "input.txt", f"{c.tmp}-copy.txt"]),
        Case("coreutils cp -r (into /tmp)", cu, ["coreutils"],
             lambda c: ["cp", "-rv", "tree", f"{c.tmp}-tree-copy"], normalise=sort_lines),
        Case("coreutils sort", cu, ["coreutils"], ["sort", "words.txt"]),
        Case("coreutils sort -n", cu, ["coreutils"], ["sort", "-n", "-r", "numbers.txt"]),
        Case("coreutils sha256sum", cu, ["coreutils"], ["sha256sum", "input.txt", "words.txt"]),
        Case("coreutils date +%Y", cu, ["coreutils"], ["date", "+%Y"]),
        Case("findutils find", cu, ["findutils"], ["find", "tree", "-printf", r"%p %y %s %m\n"],
             normalise=sort_lines),
        Case("tar -t", cu, ["tar"], ["tar", "-tvf", "data.tar"]),
        Case("tar -c", cu, ["tar"], ["tar", "-cf", "-", "--sort=name", "--owner=0", "--group=0",
                                     "--numeric-owner", "--mtime=@0", "tree"], binary=True),
        Case("tar -x (into /tmp)", cu, ["tar"], ["tar", "-xvf", "data.tar", "-C", "/tmp"],
             normalise=sort_lines),
        # interpreters
        Case("python3 -c print", "python3", ["python3"], [PYTHON, "-c", "print('hello from python', 6 * 7)"]),
        Case("python3 stdlib script", "python3", ["python3"], [PYTHON, "-c", PY_SCRIPT]),
        Case("perl -e print", "perl", ["perl"], ["perl", "-e", 'print "hello from perl ", 6 * 7, "\\n"']),
        Case("perl -e script", "perl", ["perl"], ["perl", "-e", PERL_SCRIPT]),
        # toolchains and bigger programs
        Case("gcc --version", "gcc", ["gcc"], ["gcc", "--version"]),
        Case("gcc + make (tests/apps/cproject)", "gcc", ["gcc", "make"],
             lambda c: ["make", "--no-print-directory", "-f", str(APPS / "cproject" / "Makefile"),
                        f"BUILD={c.tmp}-cproject"], note=NEEDS_FORK),
        Case("sqlite3 :memory:", "sqlite3", ["sqlite3"], ["sqlite3", ":memory:", SQL]),
        Case("git --version", "git", ["git"], ["git", "--version"]),
        Case("git init (in /tmp)", "git", ["git"], lambda c: ["git", "init", f"{c.tmp}-repo"]),
        Case("node --version", "node", ["nodejs"], ["node", "--version"]),
        Case("node -e", "node", ["nodejs"], ["node", "-e", NODE_SCRIPT]),
        Case("go program (tests/apps/goprog)", "go", ["golang-go"],
             lambda c: [str(c.work / "goprog"), "input.txt"], prepare=build_goprog),
        Case("java -version", "java", ["openjdk-17-jre-headless"], ["java", "-version"], stream="stderr"),
        Case("redis-server --version", "redis", ["redis-server"], ["redis-server", "--version"]),
        Case("redis-server (serving PING)", "redis", ["redis-server"], [],
             server=Server(redis_argv, b"PING\r\n", b"+PONG")),
        Case("nginx -v", "nginx", ["nginx"], ["nginx", "-v"], stream="stderr"),
        Case("nginx (serving GET /)", "nginx", ["nginx"], [],
             server=Server(nginx_argv, b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n", b"hello from nginx")),
    ]


@dataclasses.dataclass
class Result:
    case: Case
    native: str  # native status, as shown
    moat: str  # pass, fail, hang, not run
    reason: str = ""
    enosys: list[str] = dataclasses.field(default_factory=list)  # unimplemented, in order


def first_difference(native: str, moat: str) -> str:
    a, b = native.splitlines(), moat.splitlines()
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end of output>"
        y = b[i] if i < len(b) else "<end of output>"
        if x != y:
            return f"line {i + 1}: moat `{clip(y)}`, native `{clip(x)}`"
    return "outputs differ"


def clip(text: str, width: int = 60) -> str:
    text = text.replace("|", "\\|").replace("`", "'")
    return text if len(text) <= width else text[: width - 3] + "..."


def output_of(case: Case, r: Run) -> bytes:
    return r.stderr if case.stream == "stderr" else r.stdout


def normalised(case: Case, data: bytes) -> str:
    if case.binary:
        return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}\n"
    text = data.decode(errors="replace")
    return case.normalise(text) if case.normalise else text


def run_case(ctx: Ctx, case: Case, unavailable: set[str]) -> Result:
    missing = [p for p in case.packages if p in unavailable]
    if missing:
        return Result(case, "-", "not run", f"package unavailable: {', '.join(missing)}")
    if case.prepare:
        why = case.prepare(ctx)
        if why:
            return Result(case, "-", "not run", why.removeprefix("not run: "))
    if case.server:
        return run_server_case(ctx, case)
    argv = case.command(ctx)
    native = run(argv, cwd=ctx.work, env=ctx.env, timeout=CASE_TIMEOUT)
    guest = run(ctx.moat.argv(argv), cwd=ctx.work, env=ctx.env, timeout=CASE_TIMEOUT)
    native_status = describe_status(native.status)
    if native.hang:
        return Result(case, "hang", "not run", "hangs natively")
    a, b = normalised(case, output_of(case, native)), normalised(case, output_of(case, guest))
    if not guest.hang and guest.status == native.status and a == b:
        return Result(case, native_status, "pass")
    # Why: the unimplemented calls it met, from a run under --strace.
    traced = run(ctx.moat.argv(argv, strace="full"), cwd=ctx.work, env=ctx.env, timeout=CASE_TIMEOUT)
    enosys = ctx.moat.enosys_in_strace(traced.stderr)
    parts = []
    if guest.hang:
        parts.append(f"no exit in {CASE_TIMEOUT} s")
    elif guest.status != native.status:
        parts.append(describe_status(guest.status))
    if enosys:
        parts.append("unimplemented: " + ", ".join(enosys[:5]) + (", ..." if len(enosys) > 5 else ""))
    elif not guest.hang and a != b:
        parts.append(f"{case.stream} {first_difference(a, b)}")
    elif not guest.hang:
        err = guest.stderr.decode(errors="replace").strip().splitlines()
        if err:
            parts.append(f"stderr: `{clip(err[0])}`")
    reason = "; ".join(parts) + (f" ({case.note})" if case.note else "")
    return Result(case, native_status, "hang" if guest.hang else "fail", reason, enosys)


def serve(ctx: Ctx, case: Case, side: str, strace: bool = False) -> tuple[str, Optional[int], bytes]:
    """Starts the server, waits for an answer to the probe; returns (outcome, status, stderr).

    outcome: "serves" (the answer matched), "exited" (it ended first), "wrong answer",
    or "hang" (it neither served nor exited within the timeout)."""
    port = free_port()
    argv = case.server.argv(ctx, port, side)
    if side == "moat":
        argv = ctx.moat.argv(argv, strace="full" if strace else None)
    errpath = ctx.work / f"server-{side}.err"
    with open(errpath, "wb") as err:
        proc = subprocess.Popen(argv, cwd=ctx.work, env=ctx.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    outcome = "hang"
    deadline = time.monotonic() + CASE_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                outcome = "exited"
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(case.server.request)
                    s.settimeout(5)
                    answer = b""
                    while case.server.expect not in answer:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        answer += chunk
                outcome = "serves" if case.server.expect in answer else "wrong answer"
                break
            except OSError:
                time.sleep(0.2)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    status = shell_status(proc.returncode) if outcome == "exited" else None
    return outcome, status, errpath.read_bytes()


def run_server_case(ctx: Ctx, case: Case) -> Result:
    native, nstatus, nerr = serve(ctx, case, "native")
    if native != "serves":
        detail = describe_status(nstatus) if native == "exited" else native
        first = (nerr.decode(errors="replace").strip().splitlines() or [""])[0]
        return Result(case, f"does not serve ({detail})", "not run", f"fails natively: `{clip(first)}`")
    outcome, status, err = serve(ctx, case, "moat")
    if outcome == "serves":
        return Result(case, "serves", "pass")
    _, _, traced = serve(ctx, case, "moat", strace=True)
    enosys = ctx.moat.enosys_in_strace(traced)
    parts = [describe_status(status) if outcome == "exited" else outcome]
    if enosys:
        parts.append("unimplemented: " + ", ".join(enosys[:5]))
    else:
        first = (err.decode(errors="replace").strip().splitlines() or [""])[0]
        if first:
            parts.append(f"stderr: `{clip(first)}`")
    reason = "; ".join(parts) + " (expected until networking)"
    return Result(case, "serves", "hang" if outcome == "hang" else "fail", reason, enosys)


# ---------------------------------------------------------------------------
# CPython's regression tests

# Runs one test module in-process (python -m test would want subprocesses):
# argv[1] is the module, argv[2:] substrings of test ids to leave out; the
# working directory is $TMPDIR. The output is unittest's verbose format.
PY_RUNNER = """
import os, sys, unittest
os.chdir(os.environ["TMPDIR"])
def flat(suite):
    for t in suite:
        yield from flat(t) if isinstance(t, unittest.TestSuite) else [t]
tests = [t for t in flat(unittest.defaultTestLoader.loadTestsFromName("test." + sys.argv[1]))
         if not any(x in t.id() for x in sys.argv[2:])]
result = unittest.TextTestRunner(verbosity=2).run(unittest.TestSuite(tests))
sys.exit(not result.wasSuccessful())
""".strip()

# Tests left out, natively and in moat, because they hang natively here.
PY_EXCLUDE = {
    # Hangs on hosts with a vsock transport but no peer (VMs such as Firecracker).
    "test_socket": ["VSOCK"],
}

RESULT_WORDS = r"(ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)"
TEST_START = re.compile(r"^(\w+) \(([\w.]+)\)")
RESULT_AFTER_DOTS = re.compile(r"\.\.\. " + RESULT_WORDS + r"\s*$")
RESULT_ALONE = re.compile(r"^" + RESULT_WORDS + r"\s*$")
FAILURE_HEADER = re.compile(r"^(?:FAIL|ERROR): \w+ \(([\w.]+)\)")
RAN = re.compile(r"^Ran (\d+) tests? in ")
VERDICT = re.compile(r"^(OK|FAILED)\b(?: \((.*)\))?\s*$")


@dataclasses.dataclass
class PyRun:
    status: str  # ok, failures, crashed (...), hang, import error
    run: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    passing: set = dataclasses.field(default_factory=set)  # ids of tests that passed
    unimplemented: dict = dataclasses.field(default_factory=dict)  # syscall -> calls
    seconds: float = 0.0
    detail: str = ""

    def counts(self) -> str:
        return f"{self.run} / {self.passed} / {self.failed} / {self.skipped}"


def parse_unittest(text: str) -> PyRun:
    results: dict[str, str] = {}
    failed_ids: set[str] = set()
    current = None
    for line in text.splitlines():
        m = TEST_START.match(line)
        if m and (" ... " in line or line.rstrip() == m.group(0)):
            current = m.group(2)
        r = RESULT_AFTER_DOTS.search(line) or (RESULT_ALONE.match(line) if current else None)
        if current and r:
            results[current] = r.group(1).split()[0] if r.group(1).startswith("skipped") else r.group(1)
            current = None
        f = FAILURE_HEADER.match(line)
        if f:
            failed_ids.add(f.group(1))
    passing = {t for t, r in results.items() if r in ("ok", "expected failure")} - failed_ids
    lines = text.splitlines()
    ran = [int(m.group(1)) for m in map(RAN.match, lines) if m]
    verdict = [m for m in map(VERDICT.match, lines) if m]
    # Counts are of tests, not of unittest's failures and errors: one test can
    # add several (an error in the test and another in its tearDown, subtests).
    if ran and verdict:
        n = ran[-1]
        fields = {k.strip(): int(v) for k, v in re.findall(r"([a-z ]+)=(\d+)", verdict[-1].group(2) or "")}
        skipped = fields.get("skipped", 0)
        passed = min(len(passing), n - skipped)
        status = "ok" if verdict[-1].group(1) == "OK" else "failures"
        return PyRun(status, n, passed, max(0, n - passed - skipped), skipped, passing)
    # No summary: the run died or was killed; count what it reported.
    skipped = sum(1 for v in results.values() if v == "skipped")
    return PyRun("crashed", len(results), len(passing), len(results) - len(passing) - skipped, skipped, passing)


def run_py_module(moat: Optional[Moat], module: str, work: Path) -> PyRun:
    side = "moat" if moat else "native"
    if moat:
        argv = moat.argv([PYTHON, "-c", PY_RUNNER, module, *PY_EXCLUDE.get(module, [])], strace="summary")
        env = dict(BASE_ENV, HOME="/tmp", TMPDIR="/tmp")
        cwd = work
        timeout = PY_MOAT_TIMEOUT
    else:
        cwd = Path(tempfile.mkdtemp(prefix=f"{module}.", dir=work))
        argv = [PYTHON, "-c", PY_RUNNER, module, *PY_EXCLUDE.get(module, [])]
        env = dict(BASE_ENV, HOME=str(cwd), TMPDIR=str(cwd))
        timeout = PY_NATIVE_TIMEOUT
    r = run(argv, cwd=cwd, env=env, timeout=timeout)
    text = (r.stdout + r.stderr).decode(errors="replace")
    (work / f"{module}.{side}.log").write_text(text)
    result = parse_unittest(text)
    result.seconds = r.seconds
    if moat:
        result.unimplemented = Moat.unimplemented_in_summary(r.stderr.decode(errors="replace"))
    if r.hang:
        result.status = "hang"
        result.detail = f"killed after {timeout} s"
    elif result.status == "crashed":
        if result.run == 0 and "Traceback" in text:
            result.status = "import error"
            tb = [l for l in text.splitlines() if re.match(r"^\w+(\.\w+)*(Error|Exception)\b", l)]
            result.detail = clip(tb[-1] if tb else "", 70)
        else:
            result.detail = describe_status(r.status)
    if not moat and cwd != work:
        shutil.rmtree(cwd, ignore_errors=True)
    return result


def python_suite(moat: Moat, modules: list[str], keep: bool) -> str:
    work = Path(tempfile.mkdtemp(prefix="moat-compat-py.", dir="/var/tmp"))
    rows = []
    total_native = total_both = total_moat = 0
    missing: collections.Counter = collections.Counter()
    missing_calls: collections.Counter = collections.Counter()
    for module in modules:
        log(f"compat: python {module}: native ...")
        native = run_py_module(None, module, work)
        log(f"compat: python {module}: native {native.status} {native.counts()} ({native.seconds:.0f} s); moat ...")
        guest = run_py_module(moat, module, work)
        both = len(native.passing & guest.passing)
        log(f"compat: python {module}: moat {guest.status} {guest.counts()} ({guest.seconds:.0f} s), "
            f"{both}/{len(native.passing)} of the native passes")
        total_native += len(native.passing)
        total_both += both
        total_moat += guest.passed
        for name, calls in guest.unimplemented.items():
            missing[name] += 1
            missing_calls[name] += calls
        top = sorted(guest.unimplemented.items(), key=lambda kv: -kv[1])[:4]
        notes = []
        if guest.status not in ("ok", "failures"):
            notes.append(guest.status + (f": {guest.detail}" if guest.detail else ""))
        if top:
            notes.append("unimplemented: " + ", ".join(f"{n} ({c})" for n, c in top))
        rows.append(f"| {module} | {native.status} | {native.counts()} | {guest.counts()} | "
                    f"{both} / {len(native.passing)} | {'; '.join(notes)} |")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"compat: kept {work}")
    pct = f"{100 * total_both / total_native:.0f}%" if total_native else "-"
    out = [
        "## CPython regression tests",
        "",
        f"`scripts/compat --python`: {len(modules)} modules of Debian's {PY_TESTSUITE_PACKAGE}, each run "
        "in-process with `python3 -m unittest -v test.MODULE` (no runner subprocesses), natively "
        f"(limit {PY_NATIVE_TIMEOUT} s) and in moat (limit {PY_MOAT_TIMEOUT} s, cwd and TMPDIR /tmp, "
        "under `--strace=summary`). Left out in both: "
        + "; ".join(f"{m}: tests matching {', '.join(x)}" for m, x in PY_EXCLUDE.items())
        + " (they hang natively on this host).",
        "",
        f"**{total_both} of the {total_native} tests that pass natively also pass in moat ({pct}).**",
        "",
        "Counts are tests run / passed / failed / skipped, per test (a test with an error counts as "
        "failed, once however many errors and failing subtests it had; a module that died or was "
        "killed shows the tests it reported before that). \"In both\" counts the tests passing in "
        "moat among those passing natively.",
        "",
        "| module | native | native counts | moat counts | in both | moat notes |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if missing:
        out += ["Unimplemented syscalls the modules called in moat (modules calling each, total calls):", "",
                "| syscall | modules | calls |", "|---|---:|---:|"]
        out += [f"| {n} | {c} | {missing_calls[n]} |" for n, c in missing.most_common()]
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Reporting


def app_table(results: list[Result], ctx: Ctx) -> str:
    passed = sum(r.moat == "pass" for r in results)
    ran = sum(r.moat != "not run" for r in results)
    out = ["| case | command | native | moat | reason |", "|---|---|---|---|---|"]
    for r in results:
        argv = r.case.server.argv(ctx, "PORT", "doc") if r.case.server else r.case.command(ctx)
        cmd = " ".join(a if re.fullmatch(r"[\w@%+=:,./-]+", a) else "'…'" if "\n" in a or len(a) > 30
                       else f"'{a}'" for a in argv)
        cmd = cmd.replace(ctx.tmp, "/tmp/moat-compat-PID").replace(str(ctx.work), "$WORK").replace(str(SRC) + "/", "")
        out.append(f"| {r.case.name} | `{clip(cmd, 70)}` | {r.native} | {r.moat} | {r.reason} |")
    summary = f"**{passed} of {ran} cases pass in moat** ({len(results) - ran} not run)."
    return summary + "\n\n" + "\n".join(out) + "\n"


def missing_table(results: list[Result]) -> str:
    hits: collections.Counter = collections.Counter()
    first: collections.Counter = collections.Counter()
    for r in results:
        for name in r.enosys:
            hits[name] += 1
        if r.enosys:
            first[r.enosys[0]] += 1
    if not hits:
        return ""
    out = ["Unimplemented syscalls met by the failing cases (cases meeting each; cases where it was "
           "the first unimplemented call):", "", "| syscall | cases | first in |", "|---|---:|---:|"]
    out += [f"| {n} | {c} | {first[n]} |" for n, c in hits.most_common()]
    return "\n".join(out) + "\n"


def header(moat: Moat) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(SRC), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return (f"Last run {datetime.date.today().isoformat()} with `{moat.version}`"
            + (f" (source {rev})" if rev else "") + f" on {distro()}, kernel {platform.release()}.")


def distro() -> str:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


DOC_TITLE = """# App compatibility

Generated by `scripts/compat` (tests/apps/compat.py); do not edit by hand.
Each case runs natively and inside moat (`moat do`) with the same arguments,
environment and working directory (a staging directory under /var/tmp; guest
writes go to /tmp). A case passes when moat exits with the native status and
prints the same output (stdout; stderr for `java -version` and `nginx -v`),
after per-case normalisation (sorted lines where directory order may differ).
Each run has a 30 s limit; one that runs out is a hang. For a failure the
reason lists the unimplemented system calls the program made, in order of
first use, from a second run under `moat do --strace`.
"""


def write_section(name: str, body: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = DOC.read_text() if DOC.exists() else DOC_TITLE + "\n<!-- apps:begin -->\n<!-- apps:end -->\n\n<!-- python:begin -->\n<!-- python:end -->\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"{pre}{begin}\n{body.strip()}\n{end}{post}")
    log(f"compat: wrote {DOC.relative_to(SRC)} ({name})")


def read_expected() -> list[str]:
    if not EXPECTED_QUICK.exists():
        return []
    return [l.strip() for l in EXPECTED_QUICK.read_text().splitlines() if l.strip() and not l.startswith("#")]


def write_expected(results: list[Result]) -> None:
    passing = [r.case.name for r in results if r.moat == "pass"]
    EXPECTED_QUICK.write_text(
        "# The quick app cases (scripts/compat --quick) that pass in moat today, one per line.\n"
        "# `scripts/compat --quick --check` (ctest label apps) fails when one of them stops\n"
        "# passing. Refresh with `scripts/compat --quick --update-expected` after a fix.\n"
        + "".join(f"{n}\n" for n in passing))
    log(f"compat: wrote {EXPECTED_QUICK.relative_to(SRC)} ({len(passing)} cases)")


# ---------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(prog="scripts/compat", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="busybox, coreutils, python3 and perl cases only; "
                   "prints the table, writes docs/compat.md only with --write-docs")
    p.add_argument("--python", action="store_true", help="run CPython's regression test modules instead")
    p.add_argument("--check", action="store_true", help="exit 1 if a case listed in tests/apps/expected-quick.txt "
                   "no longer passes (implies --no-install; does not write docs)")
    p.add_argument("--update-expected", action="store_true", help="rewrite tests/apps/expected-quick.txt "
                   "from this run's quick cases")
    p.add_argument("--write-docs", action="store_true", help="write docs/compat.md even for --quick")
    p.add_argument("--no-install", action="store_true", help="do not apt-get install missing packages")
    p.add_argument("--no-build", action="store_true", help="do not run scripts/build first")
    p.add_argument("--moat", default=os.environ.get("MOAT", str(SRC / "build" / "moat")),
                   help="the moat binary (default $MOAT or build/moat)")
    p.add_argument("--only", metavar="TEXT", help="only cases (or Python modules) whose name contains TEXT")
    p.add_argument("--keep", action="store_true", help="keep the staging directory under /var/tmp")
    args = p.parse_args()
    # Signals ignored by whoever started us (nohup, a background job) would stay
    # ignored in every program we run, and tests of SIGINT would fail natively.
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    if args.check:
        args.no_install = True

    if not args.no_build:
        if subprocess.run([str(SRC / "scripts" / "build")], stdout=subprocess.DEVNULL).returncode != 0:
            log("compat: build failed")
            return 1
    moat = Moat(Path(args.moat).resolve())
    if not moat.path.exists():
        log(f"compat: no moat binary at {moat.path}")
        return 1

    if args.python:
        modules = [m for m in PY_MODULES if not args.only or args.only in m]
        if ensure_packages({PY_TESTSUITE_PACKAGE, "python3"}, not args.no_install):
            body = (f"## CPython regression tests\n\nNot run: package unavailable ({PY_TESTSUITE_PACKAGE}).\n")
        else:
            body = python_suite(moat, modules, args.keep)
        print(body)
        if not args.only:
            write_section("python", f"{body}\n{header(moat)}\n")
        return 0

    selected = [c for c in cases() if (not args.quick or c.group in QUICK_GROUPS)
                and (not args.only or args.only in c.name)]
    unavailable = ensure_packages({p for c in selected for p in c.packages}, not args.no_install)
    ctx = Ctx(moat, args.keep)
    results = []
    try:
        stage_inputs(ctx)
        for case in selected:
            r = run_case(ctx, case, unavailable)
            log(f"compat: {case.name}: {r.moat}" + (f" ({r.reason})" if r.reason else ""))
            results.append(r)
        table = app_table(results, ctx)
        missing = missing_table(results)
    finally:
        ctx.cleanup()
    print(table)
    if missing:
        print(missing)

    if not args.check and (args.write_docs or (not args.quick and not args.only)):
        write_section("apps", f"## Apps\n\n{header(moat)}\n\n{table}\n{missing}")
    if args.update_expected:
        write_expected([r for r in results if r.case.group in QUICK_GROUPS])
    if args.check:
        by_name = {r.case.name: r for r in results}
        expected = read_expected()
        regressions = [n for n in expected if n in by_name and by_name[n].moat not in ("pass", "not run")]
        for n in expected:
            if n in by_name and by_name[n].moat == "not run":
                log(f"compat: note: {n!r} not run ({by_name[n].reason}); not counted as a regression")
        fixed = [r.case.name for r in results if r.moat == "pass" and r.case.name not in expected
                 and r.case.group in QUICK_GROUPS]
        unknown = [n for n in expected if n not in by_name and not args.only]
        for n in unknown:
            log(f"compat: note: expected case {n!r} is not a quick case any more")
        for n in fixed:
            log(f"compat: note: {n!r} passes now; add it with scripts/compat --quick --update-expected")
        for n in regressions:
            r = by_name[n]
            log(f"compat: REGRESSION: {n}: {r.moat} ({r.reason})")
        if regressions:
            return 1
        log(f"compat: check ok ({sum(n in by_name for n in expected)} expected passes hold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
