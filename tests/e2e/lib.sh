# shellcheck shell=bash
# Helpers sourced by the e2e tests (tests/e2e/*.sh); not a test itself.
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   MOAT      path to the moat binary          (default: $SRC/build/moat)
#   FIXTURES  build/tests, holds the fixtures  (default: $SRC/build/tests)
#   SRC       the source root                  (default: two levels above this file)
#
# A test calls check_* helpers, each of which prints PASS or FAIL with a diff
# and counts failures, and ends with `finish`, which exits 1 if any failed.
# Every run of a program has a timeout, so a hang is a failure, not a stuck test.

set -u -o pipefail

SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MOAT=${MOAT:-$SRC/build/moat}
FIXTURES=${FIXTURES:-$SRC/build/tests}
# Debian's python3, not whatever PATH finds first: a version-manager shim (a
# shell script that execs) would test fork and exec, not python.
# shellcheck disable=SC2034 # used by the tests that source this file
PYTHON=/usr/bin/python3
# Seconds a single run may take before it counts as a hang.
E2E_TIMEOUT=${E2E_TIMEOUT:-60}

# Killed-by-signal fixtures must not leave core files behind (or be slowed by them).
ulimit -c 0 2>/dev/null || true

# The guest's /tmp is the sandbox's own in-memory filesystem, so a build tree
# under the host's /tmp (a CI clone there, say) is invisible inside moat: run
# from a copy of the fixtures outside /tmp instead.
case "$(realpath -m "$FIXTURES")/" in
  /tmp/*)
    E2E_FIXTURE_COPY=$(mktemp -d /var/tmp/moat-e2e-fixtures.XXXXXX)
    find "$FIXTURES" -maxdepth 1 -type f -exec cp -a {} "$E2E_FIXTURE_COPY"/ \;
    FIXTURES=$E2E_FIXTURE_COPY
    ;;
esac

E2E_FAILURES=0
E2E_CHECKS=0
# Scratch files live in the build tree, not /tmp: the guest's /tmp is the
# sandbox's own, so files made there would be invisible inside moat.
E2E_TMP=$(mktemp -d "${E2E_SCRATCH:-$FIXTURES}/e2e-scratch.XXXXXX") || {
  echo "FAIL: cannot make a scratch directory in ${E2E_SCRATCH:-$FIXTURES}" >&2
  exit 1
}
E2E_BG_PIDS=()

e2e_cleanup() {
  local pid
  for pid in "${E2E_BG_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$E2E_TMP"
  if [[ -n ${E2E_FIXTURE_COPY:-} ]]; then rm -rf "$E2E_FIXTURE_COPY"; fi
}
trap e2e_cleanup EXIT
# A signal ends the test through exit, so the EXIT trap still cleans up.
trap "exit 130" INT TERM HUP PIPE

if [[ ! -x $MOAT ]]; then
  echo "FAIL: moat binary not found or not executable: $MOAT" >&2
  exit 1
fi

pass() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  echo "PASS: $*"
}

fail() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  E2E_FAILURES=$((E2E_FAILURES + 1))
  echo "FAIL: $*"
}

# finish: prints a summary and exits with the test's verdict.
finish() {
  echo "---- $(basename "$0"): $((E2E_CHECKS - E2E_FAILURES))/$E2E_CHECKS checks passed"
  if ((E2E_CHECKS == 0)); then
    echo "FAIL: no checks ran"
    exit 1
  fi
  ((E2E_FAILURES == 0))
  exit $?
}

# run NAME CMD...: runs CMD with a timeout and stdin from /dev/null; leaves
# stdout, stderr and the exit status in $E2E_TMP/NAME.{out,err,status}.
run() {
  local name=$1
  shift
  run_stdin "$name" /dev/null "$@"
}

# run_stdin NAME INPUT_FILE CMD...: like run, with stdin from INPUT_FILE.
run_stdin() {
  local name=$1 input=$2
  shift 2
  local status=0
  timeout -k 5 "$E2E_TIMEOUT" "$@" <"$input" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" || status=$?
  echo "$status" >"$E2E_TMP/$name.status"
  if ((status == 124 || status == 137)) && [[ $(cat "$E2E_TMP/$name.err") == "" ]]; then
    echo "note: $name may have timed out after ${E2E_TIMEOUT}s (status $status)"
  fi
  return 0
}

out_of() { cat "$E2E_TMP/$1.out"; }
err_of() { cat "$E2E_TMP/$1.err"; }
status_of() { cat "$E2E_TMP/$1.status"; }

# show NAME: prints what a run produced, for a failure report.
show() {
  local name=$1
  echo "  status: $(status_of "$name")"
  echo "  stdout (first 20 lines):"
  head -n 20 "$E2E_TMP/$name.out" | sed 's/^/    | /'
  echo "  stderr (first 20 lines):"
  head -n 20 "$E2E_TMP/$name.err" | sed 's/^/    | /'
}

# compare LABEL FILTER CMD...: runs CMD natively and as `moat do -- CMD`, passes
# both stdouts through FILTER (a shell command reading stdin, e.g. `cat` or
# `sort`), and checks that the filtered stdouts and the exit statuses match.
# Both runs get the same cwd, environment and empty stdin.
compare() {
  local label=$1 filter=$2
  shift 2
  local tag
  tag=$(echo "$label" | tr -c 'A-Za-z0-9_' '_')
  run "native_$tag" "$@"
  run "moat_$tag" "$MOAT" do -- "$@"
  local ns ms
  ns=$(status_of "native_$tag")
  ms=$(status_of "moat_$tag")
  bash -c "$filter" <"$E2E_TMP/native_$tag.out" >"$E2E_TMP/native_$tag.filtered"
  bash -c "$filter" <"$E2E_TMP/moat_$tag.out" >"$E2E_TMP/moat_$tag.filtered"
  local ok=1
  if [[ $ns != "$ms" ]]; then
    ok=0
    echo "  exit status differs: native $ns, moat $ms"
  fi
  if ! cmp -s "$E2E_TMP/native_$tag.filtered" "$E2E_TMP/moat_$tag.filtered"; then
    ok=0
    echo "  stdout differs (--- native, +++ moat):"
    diff -u --label native --label moat "$E2E_TMP/native_$tag.filtered" "$E2E_TMP/moat_$tag.filtered" |
      head -n 60 | sed 's/^/    /'
  fi
  if [[ ! -s "$E2E_TMP/native_$tag.filtered" ]] && ((ns == 0)); then
    ok=0
    echo "  the native run printed nothing: the comparison proves nothing"
  fi
  if ((ok)); then
    pass "$label (status $ns)"
  else
    echo "  moat stderr (first 20 lines):"
    head -n 20 "$E2E_TMP/moat_$tag.err" | sed 's/^/    | /'
    fail "$label"
  fi
}

# expect_status LABEL NAME WANT...: checks that run NAME exited with one of WANT.
expect_status() {
  local label=$1 name=$2
  shift 2
  local got want
  got=$(status_of "$name")
  for want in "$@"; do
    if [[ $got == "$want" ]]; then
      pass "$label (status $got)"
      return 0
    fi
  done
  fail "$label: exit status $got, want one of: $*"
  show "$name"
  return 1
}

# expect_grep LABEL FILE REGEX: checks that FILE (e.g. $E2E_TMP/x.err) matches
# the extended regular expression REGEX.
expect_grep() {
  local label=$1 file=$2 regex=$3
  if grep -Eq -- "$regex" "$file"; then
    pass "$label"
  else
    fail "$label: no line matches /$regex/ in $(basename "$file"):"
    head -n 20 "$file" | sed 's/^/    | /'
  fi
}

# expect_no_fixed LABEL FILE STRING: checks that FILE does not contain STRING.
expect_no_fixed() {
  local label=$1 file=$2 needle=$3
  if grep -Fq -- "$needle" "$file"; then
    fail "$label: found '$needle' in $(basename "$file")"
    grep -F -- "$needle" "$file" | head -n 5 | sed 's/^/    | /'
  else
    pass "$label"
  fi
}

# need_fixture NAME: the path of a built fixture; exits the test if missing.
need_fixture() {
  local path=$FIXTURES/$1
  if [[ ! -x $path ]]; then
    echo "FAIL: fixture $path is missing: build the project first" >&2
    exit 1
  fi
  echo "$path"
}

# descendants PID: prints PID's descendant pids (not PID itself), from the
# Pid and PPid lines of /proc/*/status. cat, not awk, opens the files: awk
# would stop at the first process that exits between the glob and the read.
descendants() {
  local root=$1
  cat /proc/[0-9]*/status 2>/dev/null | awk -v root="$root" '
    $1 == "Pid:" { pid = $2 }
    $1 == "PPid:" { parent[pid] = $2 }
    END {
      frontier[root] = 1
      changed = 1
      while (changed) {
        changed = 0
        for (p in parent) if (!(p in seen) && (parent[p] in frontier)) {
          seen[p] = 1; frontier[p] = 1; changed = 1; print p
        }
      }
    }'
}
