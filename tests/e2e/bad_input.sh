#!/bin/bash
# Bad input gets a clear `moat:` error and a non-zero exit below 128, never a
# crash or a hang: missing, non-executable and non-ELF files, truncated and
# hostile ELF files, and command-line usage errors.
source "$(dirname "$0")/lib.sh"

HELLO_STATIC=$(need_fixture hello_static)
HELLO_CPP=$(need_fixture hello_cpp)
W=$E2E_TMP/files
mkdir -p "$W"

# expect_clean_error LABEL NAME STATUS...: the run exited with one of STATUS
# (all below 128: not a crash) and printed a `moat:` message.
expect_clean_error() {
  local label=$1 name=$2
  shift 2
  expect_status "$label: exit status" "$name" "$@"
  expect_grep "$label: stderr says moat:" "$E2E_TMP/$name.err" '^moat: '
}

# A missing file: exactly the shell's message and status.
run missing "$MOAT" do -- /nonexistent
expect_status "missing file exits 127" missing 127
if grep -Fxq 'moat: /nonexistent: No such file or directory' "$E2E_TMP/missing.err"; then
  pass "missing file message"
else
  fail "missing file: want the line 'moat: /nonexistent: No such file or directory' on stderr"
  show missing
fi

# A file without the exec bit (root too gets EACCES from execve for it).
printf '#!/bin/sh\necho should not run\n' >"$W/noexec.sh"
chmod 644 "$W/noexec.sh"
run noexec "$MOAT" do -- "$W/noexec.sh"
expect_clean_error "non-executable file" noexec 126
expect_grep "non-executable file: reason given" "$E2E_TMP/noexec.err" 'moat: .*(Permission denied|not executable)'
expect_no_fixed "non-executable file: did not run" "$E2E_TMP/noexec.out" "should not run"

# A directory.
run directory "$MOAT" do -- "$W"
expect_clean_error "a directory" directory 126

# Executable, but neither ELF nor #!.
printf 'just some text\n' >"$W/text"
chmod 755 "$W/text"
run text "$MOAT" do -- "$W/text"
expect_clean_error "executable text file" text 126
expect_grep "executable text file: reason given" "$E2E_TMP/text.err" 'moat: .*([Ee]xec format error|not an ELF|ENOEXEC)'

# An empty executable file.
: >"$W/empty"
chmod 755 "$W/empty"
run empty "$MOAT" do -- "$W/empty"
expect_clean_error "empty executable file" empty 126

# A #! line naming a missing interpreter.
printf '#!/nonexistent/interpreter\n' >"$W/badshebang"
chmod 755 "$W/badshebang"
run badshebang "$MOAT" do -- "$W/badshebang"
expect_clean_error "#! with a missing interpreter" badshebang 126 127

# Truncated copies of real ELF files.
for n in 4 10 63 64 200 1000; do
  head -c "$n" /bin/true >"$W/true_$n"
  chmod 755 "$W/true_$n"
  run "true_$n" "$MOAT" do -- "$W/true_$n"
  expect_clean_error "/bin/true truncated at $n bytes" "true_$n" 126 127
done
head -c 1000 "$HELLO_STATIC" >"$W/static_1000"
chmod 755 "$W/static_1000"
run static_1000 "$MOAT" do -- "$W/static_1000"
expect_clean_error "static ELF truncated at 1000 bytes" static_1000 126 127

# Hostile headers, patched into copies of the static hello fixture.
python3 - "$HELLO_STATIC" "$HELLO_CPP" "$W" <<'PY'
import os, struct, sys

src, dynamic, out = sys.argv[1], sys.argv[2], sys.argv[3]
base = bytearray(open(src, "rb").read())
# ELF64 header fields: e_phoff at 32 (8 bytes), e_phentsize at 54, e_phnum at 56 (2 bytes each).
e_phoff = struct.unpack_from("<Q", base, 32)[0]
e_phnum = struct.unpack_from("<H", base, 56)[0]

def phdr(i):
    return e_phoff + 56 * i

def first_load(data):
    for i in range(e_phnum):
        if struct.unpack_from("<I", data, phdr(i))[0] == 1:  # PT_LOAD
            return phdr(i)
    raise SystemExit("no PT_LOAD")

def write(name, data):
    path = os.path.join(out, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)

d = bytearray(base); struct.pack_into("<H", d, 56, 0xFFFF); write("bad_phnum_huge", d)
d = bytearray(base); struct.pack_into("<H", d, 56, 0); write("bad_phnum_zero", d)
d = bytearray(base); struct.pack_into("<H", d, 54, 7); write("bad_phentsize", d)
d = bytearray(base); struct.pack_into("<Q", d, 32, 0xFFFFFFFFFFFFFFF0); write("bad_phoff", d)
# p_filesz (offset 32 in a phdr) larger than p_memsz (offset 40).
d = bytearray(base); p = first_load(d)
memsz = struct.unpack_from("<Q", d, p + 40)[0]
struct.pack_into("<Q", d, p + 32, memsz + 0x10000); write("filesz_gt_memsz", d)
# p_offset (offset 8) far past the end of the file.
d = bytearray(base); p = first_load(d)
struct.pack_into("<Q", d, p + 8, 0x7FFFFFFFF000); write("bad_p_offset", d)
# p_vaddr (offset 16) in the kernel half of the address space.
d = bytearray(base); p = first_load(d)
struct.pack_into("<Q", d, p + 16, 0xFFFF800000000000); write("kernel_vaddr", d)
# A wrong machine (e_machine at 18: EM_AARCH64) and a 32-bit class (EI_CLASS at 4).
d = bytearray(base); struct.pack_into("<H", d, 18, 183); write("wrong_machine", d)
d = bytearray(base); d[4] = 1; write("elf32_class", d)
# The PT_INTERP (p_type 3) of the dynamic fixture: a missing interpreter, and a
# path without its terminating NUL.
dyn = bytearray(open(dynamic, "rb").read())
phoff = struct.unpack_from("<Q", dyn, 32)[0]
for i in range(struct.unpack_from("<H", dyn, 56)[0]):
    p = phoff + 56 * i
    if struct.unpack_from("<I", dyn, p)[0] == 3:
        off, size = struct.unpack_from("<Q", dyn, p + 8)[0], struct.unpack_from("<Q", dyn, p + 32)[0]
        d = bytearray(dyn)
        name = b"/nonexistent/ld.so"[: size - 1]
        d[off : off + size] = name + b"\0" * (size - len(name))
        write("interp_missing", d)
        d = bytearray(dyn)
        d[off : off + size] = b"A" * size
        write("interp_unterminated", d)
PY
# Linux itself starts some of these and lets the process die of SIGSEGV or
# SIGBUS (segments past the end of the file, p_filesz > p_memsz, a kernel-half
# address); moat's loader checks every header before the guest starts, so it
# rejects them all cleanly.
for f in bad_phnum_huge bad_phnum_zero bad_phentsize bad_phoff filesz_gt_memsz bad_p_offset kernel_vaddr \
  wrong_machine interp_missing interp_unterminated; do
  if [[ ! -f $W/$f ]]; then
    fail "could not make hostile ELF $f"
    continue
  fi
  run "$f" "$MOAT" do -- "$W/$f"
  expect_clean_error "hostile ELF $f" "$f" 126 127
done
# Linux ignores EI_CLASS on x86-64 and runs this one; moat may run it too or
# reject it, but must not crash.
run elf32_class "$MOAT" do -- "$W/elf32_class"
if [[ $(status_of elf32_class) == 0 ]] && grep -q '^hello from a static binary' "$E2E_TMP/elf32_class.out"; then
  pass "hostile ELF elf32_class: runs as Linux runs it"
else
  expect_clean_error "hostile ELF elf32_class" elf32_class 126 127
fi

# Command-line usage errors exit 2 with a usage message.
run noargs "$MOAT"
expect_status "no arguments exits 2" noargs 2
expect_grep "no arguments prints usage" "$E2E_TMP/noargs.err" '[Uu]sage'
run unknown_flag "$MOAT" --no-such-flag
expect_status "unknown flag exits 2" unknown_flag 2
run do_unknown_flag "$MOAT" do --no-such-flag -- /bin/true
expect_status "unknown flag to do exits 2" do_unknown_flag 2
run do_no_cmd "$MOAT" do
expect_status "do without a command exits 2" do_no_cmd 2
run unknown_cmd "$MOAT" no-such-command
expect_status "unknown command exits 2" unknown_cmd 2

# A --root-dir that is missing or not a directory.
for dir in /nonexistent-root "$W/text"; do
  name=rootdir_$(echo "$dir" | tr -c 'A-Za-z0-9' '_')
  run "$name" "$MOAT" do --root-dir "$dir" -- /bin/true
  expect_status "--root-dir $dir fails cleanly" "$name" 1 2 125 126 127
  expect_grep "--root-dir $dir: says why" "$E2E_TMP/$name.err" '^moat.*(No such file or directory|Not a directory)'
done

# --version and help.
run version "$MOAT" --version
expect_status "--version exits 0" version 0
expect_grep "--version prints a version" "$E2E_TMP/version.out" '[0-9]+\.[0-9]+\.[0-9]+'
run help "$MOAT" help
expect_status "help exits 0" help 0
expect_grep "help prints usage" "$E2E_TMP/help.out" '[Uu]sage'
expect_grep "help describes do" "$E2E_TMP/help.out" '\bdo\b'
run do_help "$MOAT" do --help
expect_status "moat do --help exits 0" do_help 0
expect_grep "moat do --help prints usage" "$E2E_TMP/do_help.out" '[Uu]sage'
expect_grep "help describes --root-dir" "$E2E_TMP/help.out" '--root-dir'
expect_grep "help describes --strace" "$E2E_TMP/help.out" '--strace'

finish
