#!/bin/bash
# The guest's /tmp is the sandbox's own: a file written there can be read back
# inside, and never appears in the host's /tmp.
source "$(dirname "$0")/lib.sh"

NAME=moat-tmpfs-probe-$$-$RANDOM$RANDOM
CONTENT="written inside moat $RANDOM"
rm -f "/tmp/$NAME"

run tmpfs "$MOAT" do -- "$PYTHON" -c '
import os, sys
name, content = sys.argv[1], sys.argv[2]
path = os.path.join("/tmp", name)
with open(path, "w") as f:
    f.write(content)
with open(path) as f:
    back = f.read()
print("read back:", back)
print("listed:", name in os.listdir("/tmp"))
print("size:", os.stat(path).st_size)
' "$NAME" "$CONTENT"
expect_status "python3 writes and reads /tmp inside moat" tmpfs 0
expect_grep "the file reads back inside" "$E2E_TMP/tmpfs.out" "^read back: $CONTENT\$"
expect_grep "the file is listed in /tmp inside" "$E2E_TMP/tmpfs.out" '^listed: True$'
expect_grep "the file has its size inside" "$E2E_TMP/tmpfs.out" "^size: ${#CONTENT}\$"

if [[ -e /tmp/$NAME ]]; then
  fail "the guest's /tmp/$NAME reached the host's /tmp"
  rm -f "/tmp/$NAME"
else
  pass "the host's /tmp did not get the guest's file"
fi

# A second sandbox starts with a /tmp of its own, without the first one's file.
run tmpfs_again "$MOAT" do -- "$PYTHON" -c 'import os, sys; print(os.path.exists("/tmp/" + sys.argv[1]))' "$NAME"
expect_status "a second sandbox runs" tmpfs_again 0
expect_grep "a second sandbox does not see the first one's /tmp file" "$E2E_TMP/tmpfs_again.out" '^False$'

finish
