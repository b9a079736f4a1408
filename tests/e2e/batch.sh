#!/bin/bash
# `moat batch PROFILE.toml` (docs/batch.md): jobs with exit codes, output
# past output_limit, a timeout, memory, pids and CPU-time limits, stdin,
# a missing binary, parallel jobs finishing out of order, --jsonl and -o,
# and bad profiles. The JSON is checked with python3's json module.
source "$(dirname "$0")/lib.sh"

P=$E2E_TMP/jobs.toml
printf 'line one\nline two\n' >"$E2E_TMP/input.txt"
cat >"$P" <<'EOF'
[sandbox]
timeout = "20s"
output_limit = "64K"
parallel = 3
env = { GREETING = "hi from the profile" }

[[job]]
name = "slow_first"
command = "sleep 2; echo slow"

[[job]]
name = "echo"
argv = ["/bin/echo", "hello"]

[[job]]
name = "exit7"
command = "echo oops >&2; exit 7"

[[job]]
name = "big_output"
output_limit = 1000
command = "head -c 100000 /dev/zero | tr '\\0' x; head -c 5000 /dev/zero | tr '\\0' y >&2"

[[job]]
name = "sleeps_past_timeout"
timeout = "1s"
argv = ["sleep", "30"]

[[job]]
name = "memory_hog"
memory = "64M"
argv = ["python3", "-c", "x = bytearray(400 << 20); print('survived', len(x))"]

[[job]]
name = "fork_bomb"
pids = 16
argv = ["python3", "-c", """
import os, signal
kids = []
try:
    for i in range(2000):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        kids.append(pid)
except OSError:
    pass
print("forked", len(kids))
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
"""]

[[job]]
name = "cpu_spinner"
cpu_time = "300ms"
argv = ["python3", "-c", "while True: pass"]

[[job]]
name = "stdin_string"
argv = ["cat"]
stdin = "from the profile\n"

[[job]]
name = "stdin_file"
argv = ["wc", "-l"]
stdin_file = "input.txt"

[[job]]
name = "no_such_binary"
argv = ["/no/such/binary", "arg"]

[[job]]
name = "segfault"
command = "kill -SEGV $$"

[[job]]
name = "env_and_cwd"
cwd = "/tmp"
env = { EXTRA = "job's own" }
command = "echo \"$GREETING|$EXTRA\"; pwd; test -z \"$HOME_SECRET\" && echo clean"
EOF

start=$(date +%s%N)
HOME_SECRET=leak run batch "$MOAT" batch "$P"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_status "moat batch exits 0 when every job ran" batch 0
if ((elapsed_ms < 15000)); then
  pass "the batch finished promptly (${elapsed_ms} ms; the sleep 30 job was cut at 1 s)"
else
  fail "the batch took ${elapsed_ms} ms"
fi

# check_json FILE SCRIPT: runs the python SCRIPT with `doc` loaded from FILE
# (and `jobs`, by name); each check(label, cond, detail) becomes a PASS or FAIL.
check_json() {
  local file=$1 script=$2 line
  while IFS= read -r line; do
    case $line in
      PASS:*) pass "${line#PASS: }" ;;
      *) fail "${line#FAIL: }" ;;
    esac
  done < <("$PYTHON" - "$file" 2>&1 <<PY
import json, sys
def check(label, cond, detail=""):
    print(("PASS: " if cond else "FAIL: ") + label + ("" if cond else " -- " + str(detail)))
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:
    print("FAIL: the output is not JSON:", e)
    sys.exit(0)
jobs = {j["name"]: j for j in doc.get("jobs", [])}
$script
PY
  )
}

check_json "$E2E_TMP/batch.out" '
names = [j["name"] for j in doc["jobs"]]
check("results come in the profile order", names == ["slow_first", "echo", "exit7", "big_output",
      "sleeps_past_timeout", "memory_hog", "fork_bomb", "cpu_spinner", "stdin_string", "stdin_file",
      "no_such_binary", "segfault", "env_and_cwd"], names)
keys = ["name", "status", "exit_code", "signal", "wall_ms", "cpu_ms", "max_rss_kb", "memory_peak_kb",
        "stdout", "stdout_truncated", "stderr", "stderr_truncated", "error", "unenforced"]
check("every result has every field", all(list(j) == keys for j in doc["jobs"]), [list(j) for j in doc["jobs"]][:1])
s = jobs["slow_first"]; e = jobs["echo"]
check("slow_first: exited 0 with its output", (s["status"], s["exit_code"], s["stdout"]) == ("exited", 0, "slow\n"), s)
check("echo: exited 0, stdout hello", (e["status"], e["exit_code"], e["stdout"], e["stderr"]) == ("exited", 0, "hello\n", ""), e)
check("jobs ran in parallel: echo finished while slow_first still ran",
      doc["wall_ms"] < s["wall_ms"] + e["wall_ms"] + 1000 and s["wall_ms"] >= 2000, (doc["wall_ms"], s["wall_ms"]))
j = jobs["exit7"]
check("exit7: exit code 7 and its stderr", (j["status"], j["exit_code"], j["signal"], j["stderr"]) == ("exited", 7, None, "oops\n"), j)
j = jobs["big_output"]
check("big_output: stdout cut at output_limit and flagged",
      j["stdout"] == "x" * 1000 and j["stdout_truncated"] is True and j["status"] == "exited", (len(j["stdout"]), j["stdout_truncated"]))
check("big_output: stderr cut at output_limit too", j["stderr"] == "y" * 1000 and j["stderr_truncated"] is True, len(j["stderr"]))
check("short outputs are not flagged", not e["stdout_truncated"] and not e["stderr_truncated"], e)
j = jobs["sleeps_past_timeout"]
check("sleeps_past_timeout: status timeout, killed", (j["status"], j["exit_code"], j["signal"]) == ("timeout", None, "SIGKILL"), j)
check("sleeps_past_timeout: ended near its 1 s timeout", 1000 <= j["wall_ms"] < 4000, j["wall_ms"])
j = jobs["memory_hog"]
if j["unenforced"]:
    check("memory_hog: the unenforced memory limit is reported", j["unenforced"] == ["memory"], j)
else:
    check("memory_hog: status memory (the cgroup limit)", (j["status"], j["exit_code"]) == ("memory", None) and "survived" not in j["stdout"], j)
    check("memory_hog: its peak stayed within 64M", j["memory_peak_kb"] is None or j["memory_peak_kb"] <= 64 * 1024, j["memory_peak_kb"])
j = jobs["fork_bomb"]
if j["unenforced"]:
    check("fork_bomb: the unenforced pids limit is reported", j["unenforced"] == ["pids"], j)
else:
    forked = int(j["stdout"].split()[1]) if j["stdout"].startswith("forked ") else -1
    check("fork_bomb: fork fails at the pids limit and the job ends normally",
          j["status"] == "exited" and j["exit_code"] == 0 and 0 < forked < 40, j)
j = jobs["cpu_spinner"]
check("cpu_spinner: status cpu_time once past 300 ms of CPU", j["status"] == "cpu_time" and j["cpu_ms"] >= 300 and j["signal"] == "SIGKILL", j)
check("cpu_spinner: killed soon after", j["wall_ms"] < 10000, j["wall_ms"])
j = jobs["stdin_string"]
check("stdin: the string reaches the job", (j["status"], j["stdout"]) == ("exited", "from the profile\n"), j)
j = jobs["stdin_file"]
check("stdin_file: the file (relative to the profile) reaches the job", (j["status"], j["stdout"].strip()) == ("exited", "2"), j)
j = jobs["no_such_binary"]
check("no_such_binary: exit code 127 as a shell gives it, with the reason",
      j["status"] == "exited" and j["exit_code"] == 127 and "No such file or directory" in (j["error"] or "")
      and "/no/such/binary" in j["stderr"], j)
j = jobs["segfault"]
check("segfault: status signaled, SIGSEGV", (j["status"], j["exit_code"], j["signal"]) == ("signaled", None, "SIGSEGV"), j)
j = jobs["env_and_cwd"]
check("env and cwd: the profile env, the job env and cwd; nothing from the caller",
      j["stdout"] == "hi from the profile|job\x27s own\n/tmp\nclean\n", j["stdout"])
check("CPU time and RSS are measured", all(isinstance(x["cpu_ms"], int) and x["max_rss_kb"] > 0 for x in doc["jobs"]
      if x["name"] != "no_such_binary"), [(x["name"], x["cpu_ms"]) for x in doc["jobs"]])
'

# --jsonl: one object per line, still in profile order (the first is the slowest), and -o.
cat >"$E2E_TMP/order.toml" <<'EOF'
[sandbox]
parallel = 4
[[job]]
name = "a_slow"
command = "sleep 1.5; echo a"
[[job]]
name = "b_fast"
command = "echo b"
[[job]]
name = "c_medium"
command = "sleep 0.5; echo c"
[[job]]
name = "d_fast"
argv = ["echo", "d"]
EOF
run jsonl "$MOAT" batch --jsonl -o "$E2E_TMP/order.jsonl" "$E2E_TMP/order.toml"
expect_status "--jsonl -o: exit 0" jsonl 0
if [[ ! -s $E2E_TMP/jsonl.out ]]; then pass "-o: nothing on stdout"; else fail "-o: stdout has $(wc -c <"$E2E_TMP/jsonl.out") bytes"; fi
"$PYTHON" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
jobs = [json.loads(l) for l in lines]
print([j["name"] for j in jobs], [j["stdout"] for j in jobs])' "$E2E_TMP/order.jsonl" >"$E2E_TMP/order.names" 2>&1
expect_grep "--jsonl: four lines in profile order, each its job's" "$E2E_TMP/order.names" \
  "^\['a_slow', 'b_fast', 'c_medium', 'd_fast'\] \['a\\\\n', 'b\\\\n', 'c\\\\n', 'd\\\\n'\]$"

# A job moat cannot start makes the batch exit 1.
cat >"$E2E_TMP/error.toml" <<EOF
[sandbox]
binds = ["$E2E_TMP/input.txt:/proc/self/nope"]
[[job]]
name = "bad_bind"
argv = ["true"]
EOF
run joberror "$MOAT" batch "$E2E_TMP/error.toml"
expect_status "a job with status error: exit 1" joberror 1
check_json "$E2E_TMP/joberror.out" '
j = jobs["bad_bind"]
check("the job says error, with the reason", j["status"] == "error" and "/proc/self/nope" in (j["error"] or ""), j)'

# Bad profiles: exit 2, a message naming the file, line and key, no job run.
cat >"$E2E_TMP/bad.toml" <<EOF
[sandbox]
timeout = "2s"
[[job]]
name = "would_write"
argv = ["/bin/sh", "-c", "touch $E2E_TMP/ran"]
[[job]]
name = "late"
argv = ["true"]
memory = "12Q"
EOF
run bad "$MOAT" batch "$E2E_TMP/bad.toml"
expect_status "a bad size: exit 2" bad 2
expect_grep "the message names file, line and key" "$E2E_TMP/bad.err" \
  'bad\.toml:9:10: job 2 \("late"\)\.memory: bad size "12Q"'
if [[ ! -e $E2E_TMP/ran ]]; then pass "a bad profile runs no job"; else fail "a job ran from a bad profile"; fi
if [[ ! -s $E2E_TMP/bad.out ]]; then pass "a bad profile prints no JSON"; else fail "JSON from a bad profile"; fi
printf '[[job]]\nname = "x"\nargv = ["true"]\ntimeout = "1s"\nflavour = "mint"\n' >"$E2E_TMP/unknown.toml"
run unknown "$MOAT" batch "$E2E_TMP/unknown.toml"
expect_status "an unknown key: exit 2" unknown 2
expect_grep "the unknown key is named" "$E2E_TMP/unknown.err" 'unknown\.toml:5:1: job 1 \("x"\)\.flavour: unknown key'
run missing "$MOAT" batch "$E2E_TMP/nope.toml"
expect_status "a missing profile: exit 2" missing 2
expect_grep "a missing profile is named" "$E2E_TMP/missing.err" 'nope\.toml: No such file or directory'
run usage "$MOAT" batch
expect_status "no profile: exit 2" usage 2
run help "$MOAT" batch --help
expect_status "--help: exit 0" help 0
expect_grep "--help describes the flags" "$E2E_TMP/help.out" '--jsonl'

# No cgroup or process is left behind.
sleep 0.5
if ls -d /sys/fs/cgroup/*/moat/batch-* /sys/fs/cgroup/moat/batch-* 2>/dev/null | grep -q .; then
  fail "batch cgroups left behind: $(ls -d /sys/fs/cgroup/*/moat/batch-* /sys/fs/cgroup/moat/batch-* 2>/dev/null | head -3)"
else
  pass "no batch cgroup left behind"
fi
if pgrep -f "sleep 30" >/dev/null; then fail "the timed-out job's sleep is still running"; else pass "the timed-out job is gone"; fi
finish
