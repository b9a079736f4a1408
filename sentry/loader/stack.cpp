// Initial stack layout; see stack.h. From stack_top down:
//   8 zero bytes, execfn, envp strings, argv strings   (fs/exec.c copy_strings)
//   16-byte align, "x86_64", 16 random bytes           (create_elf_tables)
//   auxv, envp[] + NULL, argv[] + NULL, argc, with the whole block rounded
//   down so argc sits on a 16-byte boundary (STACK_ROUND).

#include "sentry/loader/stack.h"

#include <elf.h>

#include <cstddef>
#include <cstring>

namespace moat::loader {

namespace {

constexpr char kPlatform[] = "x86_64";  // ELF_PLATFORM

// A downward-growing image of [top - capacity, top). Bytes are written at
// guest addresses; finish() returns [sp, top).
class StackWriter {
 public:
  StackWriter(uint64_t top, size_t capacity) : m_top(top), m_sp(top), m_buf(capacity) {}
  uint64_t sp() const { return m_sp; }
  void reserve(uint64_t bytes) { m_sp -= bytes; }
  void align_down(uint64_t a) { m_sp &= ~(a - 1); }
  uint64_t push(const void* data, size_t len) {
    m_sp -= len;
    write(m_sp, data, len);
    return m_sp;
  }
  uint64_t push_string(const std::string& s) { return push(s.c_str(), s.size() + 1); }
  void write(uint64_t addr, const void* data, size_t len) {
    std::memcpy(m_buf.data() + (m_buf.size() - (m_top - addr)), data, len);
  }
  std::vector<uint8_t> finish() {
    m_buf.erase(m_buf.begin(), m_buf.end() - static_cast<ptrdiff_t>(m_top - m_sp));
    return std::move(m_buf);
  }

 private:
  uint64_t m_top;
  uint64_t m_sp;
  std::vector<uint8_t> m_buf;
};

}  // namespace

ErrorOr<StackImage> build_initial_stack(uint64_t stack_top, const std::vector<std::string>& argv,
                                        const std::vector<std::string>& envp,
                                        const std::vector<std::pair<uint64_t, uint64_t>>& auxv,
                                        const std::string& execfn, const std::array<uint8_t, 16>& random) {
  // fs/exec.c bprm_stack_limits and copy_strings: per-string and total limits.
  size_t total = (argv.size() + envp.size()) * sizeof(uint64_t);
  for (const auto* list : {&argv, &envp}) {
    for (const std::string& s : *list) {
      if (s.size() + 1 > kMaxArgStrlen) return Errno::TooBig;
      total += s.size() + 1;
    }
  }
  if (total > kMaxArgBytes || execfn.size() + 1 > kMaxArgStrlen) return Errno::TooBig;

  // Everything below, with slack for the two 16-byte roundings.
  size_t items = (argv.size() + 1) + (envp.size() + 1) + 1;
  size_t aux_count = auxv.size() + 4;
  size_t capacity = total + sizeof(uint64_t) + execfn.size() + 1 + sizeof(kPlatform) + 16 +
                    (aux_count * 2 + items) * sizeof(uint64_t) + 32;
  if (stack_top % 16 != 0 || stack_top < capacity) return Errno::INVAL;

  StackImage out;
  StackWriter w(stack_top, capacity);

  // bprm->p starts one pointer below the top; then the filename, envp, argv,
  // each list copied last string first so it reads in order upwards.
  w.reserve(sizeof(uint64_t));
  out.execfn = w.push_string(execfn);
  out.env_end = w.sp();
  std::vector<uint64_t> env_ptrs(envp.size()), arg_ptrs(argv.size());
  for (size_t i = envp.size(); i-- > 0;) env_ptrs[i] = w.push_string(envp[i]);
  out.env_start = w.sp();
  out.arg_end = w.sp();
  for (size_t i = argv.size(); i-- > 0;) arg_ptrs[i] = w.push_string(argv[i]);
  out.arg_start = w.sp();

  // create_elf_tables: p = arch_align_stack(p), then platform, random bytes.
  w.align_down(16);
  uint64_t platform = w.push(kPlatform, sizeof(kPlatform));
  out.random = w.push(random.data(), random.size());

  std::vector<std::pair<uint64_t, uint64_t>> aux = auxv;
  aux.emplace_back(AT_PLATFORM, platform);
  aux.emplace_back(AT_RANDOM, out.random);
  aux.emplace_back(AT_EXECFN, out.execfn);
  aux.emplace_back(AT_NULL, 0);

  // sp = STACK_ADD(p, ei_index); sp = STACK_ROUND(sp, items).
  w.reserve(aux.size() * 2 * sizeof(uint64_t) + items * sizeof(uint64_t));
  w.align_down(16);
  out.sp = out.start = w.sp();

  uint64_t at = out.sp;
  auto put = [&](uint64_t v) {
    w.write(at, &v, sizeof(v));
    at += sizeof(uint64_t);
  };
  put(argv.size());
  for (uint64_t p : arg_ptrs) put(p);
  put(0);
  for (uint64_t p : env_ptrs) put(p);
  put(0);
  for (const auto& [type, value] : aux) {
    put(type);
    put(value);
  }

  out.bytes = w.finish();
  return out;
}

}  // namespace moat::loader
