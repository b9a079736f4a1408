#pragma once
// "#!" scripts, parsed as Linux's fs/binfmt_script.c load_script does.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace moat::loader {

// BINPRM_BUF_SIZE: only this much of the file is ever looked at.
constexpr size_t kShebangBufSize = 256;

struct Shebang {
  std::string interp;
  std::optional<std::string> arg;  // the rest of the line, spaces/tabs trimmed
};

// first_bytes: the start of the file (at most kShebangBufSize bytes are used;
// fewer mean the file is that short). nullopt when the file does not start
// with "#!" (not a script: try the next format); ENOEXEC when it does but
// names no interpreter, or the interpreter path may be truncated; ENOENT for
// an empty name cut by a NUL ("#!" then EOF), where Linux fails to open "".
ErrorOr<std::optional<Shebang>> parse_shebang(std::span<const std::byte> first_bytes);

// The interpreter's argv: [interp, arg?, script_path, argv[1..]].
std::vector<std::string> shebang_argv(const Shebang& shebang, std::string script_path,
                                      std::vector<std::string> argv);

}  // namespace moat::loader
