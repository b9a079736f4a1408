#!/bin/bash
# --overlay dir:PATH: the guest's changes go to a host directory and persist
# there. A second sandbox over the same directory sees them (new files,
# removals as whiteouts, directories made opaque, renames), the lower tree
# never changes, copy-up brings extended attributes along, the directory
# itself never shows inside, and bad --overlay values are usage errors.
source "$(dirname "$0")/lib.sh"

# The lower fixtures and the upper directory live under /var/tmp: never a
# real system file, and outside the guest's private /tmp.
LOWER=$(mktemp -d /var/tmp/moat-ovl-lower.XXXXXX) || exit 1
UPPER=$(mktemp -d /var/tmp/moat-ovl-upper.XXXXXX) || exit 1
trap 'rm -rf "$LOWER" "$UPPER"; e2e_cleanup' EXIT

mkdir -p "$LOWER/dir/sub" "$LOWER/keep"
echo original >"$LOWER/file"
echo gone >"$LOWER/removed"
echo moving >"$LOWER/moved"
echo a >"$LOWER/dir/a"
echo b >"$LOWER/dir/sub/b"
echo tagged >"$LOWER/tagged"
echo k >"$LOWER/keep/k"
"$PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], "user.moat.test", b"blue")' "$LOWER/tagged" || {
  echo "FAIL: the host filesystem of /var/tmp keeps no user.* xattrs; the test needs them"
  exit 1
}

# Names, types, sizes, modes, owners, mtimes, link counts, contents and
# xattrs of the lower tree.
snapshot() {
  {
    find "$LOWER" -printf '%P %y %s %m %U %G %T@ %n\n' | sort
    find "$LOWER" -type f -exec md5sum {} + | sort
    "$PYTHON" -c '
import os, sys
for root, dirs, files in sorted(os.walk(sys.argv[1])):
    for n in sorted(dirs + files):
        p = os.path.join(root, n)
        print(p, sorted((k, os.getxattr(p, k)) for k in os.listxattr(p)))
' "$LOWER"
  } >"$1"
}
snapshot "$E2E_TMP/lower.before"

OVL=(--overlay "dir:$UPPER")

# Run 1: write, remove, rmdir and mkdir, rename, modify a file with an xattr.
run one "$MOAT" do "${OVL[@]}" -- /bin/bash -c "
set -e
cd '$LOWER'
echo changed > file
echo fresh > new
rm removed
rm -r dir
mkdir dir
mv moved moved.renamed
echo more >> tagged
echo \"file: \$(cat file)\"
echo \"tagged xattr: \$('$PYTHON' -c 'import os; print(os.getxattr(\"tagged\", \"user.moat.test\").decode())')\"
echo \"listed: \$('$PYTHON' -c 'import os; print(sorted(os.listxattr(\"tagged\")))')\"
echo \"upper visible: \$(ls -A /var/tmp | grep -c '^$(basename "$UPPER")\$' || true)\"
test -e '$UPPER' && echo 'upper reachable' || echo 'upper unreachable'
"
expect_status "run 1 changes the lower tree's files" one 0
expect_grep "run 1 sees its own write" "$E2E_TMP/one.out" '^file: changed$'
expect_grep "a write copies the lower file's xattr up with it" "$E2E_TMP/one.out" '^tagged xattr: blue$'
expect_grep "the overlay's own xattrs never show" "$E2E_TMP/one.out" "^listed: \['user.moat.test'\]$"
expect_grep "the upper directory is not listed inside" "$E2E_TMP/one.out" '^upper visible: 0$'
expect_grep "the upper directory is not reachable inside" "$E2E_TMP/one.out" '^upper unreachable$'

# The changes are in the upper directory, laid out as overlayfs's.
U="$UPPER$LOWER"
if [[ $(cat "$U/file" 2>/dev/null) == changed && $(cat "$U/new" 2>/dev/null) == fresh ]]; then
  pass "written files land in the upper directory"
else
  fail "written files land in the upper directory: $(ls -la "$U" 2>&1 | head -n 20)"
fi
if [[ -c $U/removed && $(stat -c '%t:%T' "$U/removed") == 0:0 ]]; then
  pass "a removed lower file leaves a whiteout (character device 0/0)"
else
  fail "a removed lower file leaves a whiteout: $(ls -la "$U/removed" 2>&1)"
fi
opaque=$("$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.overlay.opaque").decode())' "$U/dir" 2>&1)
if [[ $opaque == y ]]; then
  pass "a directory made where one was removed is opaque (user.overlay.opaque=y)"
else
  fail "a directory made where one was removed is opaque: $opaque"
fi
tag=$("$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.moat.test").decode())' "$U/tagged" 2>&1)
if [[ $tag == blue ]]; then
  pass "the upper copy keeps the xattr"
else
  fail "the upper copy keeps the xattr: $tag"
fi

snapshot "$E2E_TMP/lower.after"
if cmp -s "$E2E_TMP/lower.before" "$E2E_TMP/lower.after"; then
  pass "the lower tree is unchanged"
else
  fail "the lower tree changed:"
  diff "$E2E_TMP/lower.before" "$E2E_TMP/lower.after" | head -n 20 | sed 's/^/    | /'
fi

# Run 2 over the same upper directory starts from run 1's changes.
run two "$MOAT" do "${OVL[@]}" -- /bin/bash -c "
cd '$LOWER'
echo \"file: \$(cat file)\"
echo \"new: \$(cat new)\"
test -e removed && echo 'removed: present' || echo 'removed: absent'
ls | grep -qx removed && echo 'removed: listed' || echo 'removed: unlisted'
echo \"dir entries: \$(ls -A dir | wc -l)\"
test -e moved && echo 'moved: present' || echo 'moved: absent'
echo \"renamed: \$(cat moved.renamed)\"
echo \"keep: \$(cat keep/k)\"
echo \"tagged: \$(tail -n 1 tagged) \$('$PYTHON' -c 'import os; print(os.getxattr(\"tagged\", \"user.moat.test\").decode())')\"
"
expect_status "run 2 over the same upper directory" two 0
for line in "file: changed" "new: fresh" "removed: absent" "removed: unlisted" "dir entries: 0" \
  "moved: absent" "renamed: moving" "keep: k" "tagged: more blue"; do
  expect_grep "run 2: $line" "$E2E_TMP/two.out" "^$line\$"
done

# Without the upper directory, the lower tree as it is.
run memory "$MOAT" do -- /bin/sh -c "cat '$LOWER/file' '$LOWER/removed'; ls -A '$LOWER/dir' | wc -l"
expect_status "a memory overlay sees the lower tree" memory 0
expect_grep "a memory overlay sees the lower file" "$E2E_TMP/memory.out" '^original$'
expect_grep "a memory overlay sees the removed file" "$E2E_TMP/memory.out" '^gone$'

# Bad values: a usage error (status 2) with a one-line message.
echo notadir >"$LOWER/plain"
bad_overlay() {
  local label=$1
  shift
  run bad "$MOAT" do "$@" -- /bin/true
  expect_status "$label: a usage error" bad 2
  expect_grep "$label: says what is wrong" "$E2E_TMP/bad.err" '^moat do: --overlay'
}
bad_overlay "--overlay with an unknown value" --overlay bogus
bad_overlay "--overlay dir: without a path" --overlay dir:
bad_overlay "--overlay dir: of a missing directory" --overlay "dir:$LOWER/missing"
bad_overlay "--overlay dir: of a file" --overlay "dir:$LOWER/plain"
bad_overlay "--overlay dir: of a directory holding the root" --overlay=dir:/
bad_overlay "--overlay without a value" --overlay
run help "$MOAT" do --help
expect_grep "moat do --help mentions dir:PATH" "$E2E_TMP/help.out" '--overlay dir:PATH'

finish
