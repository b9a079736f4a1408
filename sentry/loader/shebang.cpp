// "#!" parsing; mirrors fs/binfmt_script.c load_script (Linux 5.1+), including
// its treatment of a missing newline within the first 256 bytes.

#include "sentry/loader/shebang.h"

#include <array>
#include <cstring>

namespace moat::loader {

namespace {

bool spacetab(char c) { return c == ' ' || c == '\t'; }

// First non-space/tab in [first, last], or nullptr.
const char* next_non_spacetab(const char* first, const char* last) {
  for (; first <= last; ++first)
    if (!spacetab(*first)) return first;
  return nullptr;
}

// First space, tab or NUL in [first, last], or nullptr.
const char* next_terminator(const char* first, const char* last) {
  for (; first <= last; ++first)
    if (spacetab(*first) || *first == '\0') return first;
  return nullptr;
}

}  // namespace

ErrorOr<std::optional<Shebang>> parse_shebang(std::span<const std::byte> first_bytes) {
  // The kernel's buffer is zero-padded when the file is shorter than it.
  std::array<char, kShebangBufSize> buf{};
  std::memcpy(buf.data(), first_bytes.data(), std::min(first_bytes.size(), buf.size()));
  if (buf[0] != '#' || buf[1] != '!') return std::optional<Shebang>{};

  const char* const buf_end = buf.data() + buf.size() - 1;
  const char* i_end = static_cast<const char*>(std::memchr(buf.data(), '\n', buf.size()));
  if (!i_end) {
    // No newline: only run the interpreter if its path is visibly complete,
    // i.e. followed by a space, tab or NUL within the buffer.
    i_end = next_non_spacetab(buf.data() + 2, buf_end);
    if (!i_end) return Errno::NOEXEC;
    if (!next_terminator(i_end, buf_end)) return Errno::NOEXEC;
    i_end = buf_end;
  }
  // Trailing spaces and tabs belong to nothing. buf[0] is '#', so this stops.
  while (spacetab(i_end[-1])) --i_end;

  const char* i_name = next_non_spacetab(buf.data() + 2, i_end);
  if (!i_name || i_name == i_end) return Errno::NOEXEC;

  const char* i_sep = next_terminator(i_name, i_end);
  const char* i_arg = nullptr;
  if (i_sep && *i_sep != '\0') i_arg = next_non_spacetab(i_sep, i_end);

  // The kernel NUL-terminates at i_end and at i_sep, then copies C strings,
  // so an embedded NUL cuts either string short.
  auto c_string = [](const char* from, const char* to) {
    return std::string(from, strnlen(from, static_cast<size_t>(to - from)));
  };
  Shebang sb;
  sb.interp = c_string(i_name, i_sep ? i_sep : i_end);
  // A name that starts with NUL ("#!" alone in a short file) gets past the
  // kernel's checks and then fails to open: execve reports ENOENT.
  if (sb.interp.empty()) return Errno::NOENT;
  if (i_arg) sb.arg = c_string(i_arg, i_end);
  return std::optional<Shebang>{std::move(sb)};
}

std::vector<std::string> shebang_argv(const Shebang& shebang, std::string script_path,
                                      std::vector<std::string> argv) {
  std::vector<std::string> out;
  out.reserve(argv.size() + 3);
  out.push_back(shebang.interp);
  if (shebang.arg) out.push_back(*shebang.arg);
  out.push_back(std::move(script_path));
  for (size_t i = 1; i < argv.size(); ++i) out.push_back(std::move(argv[i]));
  return out;
}

}  // namespace moat::loader
