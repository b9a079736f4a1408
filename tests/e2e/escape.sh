#!/bin/bash
# A guest cannot reach a host file outside its --root-dir, whatever it tries
# with the mount table and its root: chroot with the working directory or a
# directory fd left outside, nested chroots, bind mounts of host paths, of "/"
# and "..", a fresh procfs and its root and cwd links (of itself, its parent
# and pid 1, before and after a chroot), pivot_root, symlinks climbing out
# through a mount, device nodes and open_by_handle_at. The probe
# (tests/fixtures/escape_probe.c) reads and tries to overwrite the canary
# each way; the canary must stay unread and unchanged.
source "$(dirname "$0")/lib.sh"

PROBE=$(need_fixture escape_probe)
STATIC_CAT=$(need_fixture static_cat)

SECRET="escape-canary-$$-$RANDOM$RANDOM"
mkdir -p "$E2E_TMP/outside"
CANARY=$E2E_TMP/outside/canary.txt
echo "$SECRET" >"$CANARY"
chmod 0644 "$CANARY"
T=$E2E_TMP/tree/root
mkdir -p "$T/bin" "$T/tmp" "$T/proc"
cp "$PROBE" "$T/bin/escape_probe"
cp "$STATIC_CAT" "$T/bin/cat"
echo "tree file" >"$T/marker"

# The probe sees its own tree.
(cd / && run tree_cat "$MOAT" do --root-dir "$T" -- /bin/cat /marker)
expect_status "the tree's own file is readable" tree_cat 0
expect_grep "the tree's file has its content" "$E2E_TMP/tree_cat.out" '^tree file$'

# Every attempt from inside the tree is blocked.
(cd / && run probe "$MOAT" do --root-dir "$T" -- /bin/escape_probe "$CANARY" "$SECRET")
expect_status "no escape from --root-dir" probe 0
for attempt in plain dotdot chroot-cwd chroot-fd chroot-nested bind proc pivot_root symlinks devices; do
  expect_grep "blocked: $attempt" "$E2E_TMP/probe.out" "^blocked $attempt\$"
done
cat "$E2E_TMP/probe.out" "$E2E_TMP/probe.err" >"$E2E_TMP/probe.all"
expect_no_fixed "the canary's content never reaches the guest" "$E2E_TMP/probe.all" "$SECRET"
expect_grep "the host canary is unchanged" "$CANARY" "^$SECRET\$"

# The probe does find a canary it may see: with the host root (read-only
# under a memory overlay) the plain read succeeds, and its attempted
# overwrite stays in the sandbox.
(cd / && run probe_visible "$MOAT" do -- "$PROBE" "$CANARY" "$SECRET")
expect_status "the probe reports a visible canary" probe_visible 1
expect_grep "a visible canary is detected" "$E2E_TMP/probe_visible.out" '^LEAK plain$'
expect_grep "the host canary is unchanged after the guest wrote it" "$CANARY" "^$SECRET\$"

finish
