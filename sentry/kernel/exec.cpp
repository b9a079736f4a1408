#include "sentry/kernel/exec.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "fs/file.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "sentry/kernel/process.h"
#include "sentry/loader/shebang.h"
#include "sentry/loader/stack.h"
#include "sentry/platform/stub_ops.h"

namespace moat {

namespace {

// Linux allows a few levels of interpreters (fs/exec.c, search_binary_handler).
constexpr int kMaxShebangDepth = 5;
constexpr uint64_t kPieBase = 0x555555554000ULL;
constexpr uint64_t kStackTop = 0x7ff000000000ULL;

class FileElfSource final : public loader::ElfSource {
 public:
  FileElfSource(fs::File& f, uint64_t size) : m_file(f), m_size(size) {}
  ErrorOr<size_t> pread(std::span<std::byte> buf, uint64_t off) override { return m_file.pread_sync(buf, off); }
  uint64_t size() const override { return m_size; }

 private:
  fs::File& m_file;
  uint64_t m_size;
};

uint64_t random_pages(uint64_t max_pages) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), 0) != sizeof(r)) return 0;
  return (r % max_pages) * mm::kPageSize;
}

// Opens a file for execution: it must be a regular file with an x bit the
// caller may use (execve's EACCES rules).
ErrorOr<RefPtr<fs::File>> open_for_exec(Process& p, const std::string& path, struct stat& st) {
  RefPtr<fs::File> f = TRY(fs::open_path(p, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0));
  st = TRY(f->stat());
  if (!S_ISREG(st.st_mode)) return Errno::ACCES;
  if (!(st.st_mode & 0111)) return Errno::ACCES;
  if (p.creds.euid != 0) {
    mode_t bit = st.st_uid == p.creds.euid ? S_IXUSR : st.st_gid == p.creds.egid ? S_IXGRP : S_IXOTH;
    if (!(st.st_mode & bit)) return Errno::ACCES;
  }
  return f;
}

ErrorOr<LoadedElf> load_image(RefPtr<fs::File> file, const std::string& path, uint64_t size,
                              loader::ElfRole role, uint64_t base) {
  FileElfSource src(*file, size);
  loader::ElfImage image = TRY(loader::load_elf(src, base, role));
  return LoadedElf{std::move(file), path, std::move(image)};
}

}  // namespace

ErrorOr<ExecPlan> prepare_exec(Process& p, const std::string& path_in, std::vector<std::string> argv,
                               std::vector<std::string> envp) {
  ExecPlan plan;
  plan.execfn = path_in;
  std::string path = path_in;
  for (int depth = 0;; depth++) {
    struct stat st{};
    RefPtr<fs::File> f = TRY(open_for_exec(p, path, st));
    std::array<std::byte, loader::kShebangBufSize> head{};
    size_t n = TRY(f->pread_sync(head, 0));
    std::span<const std::byte> first(head.data(), n);
    if (n >= 4 && memcmp(head.data(), ELFMAG, SELFMAG) == 0) {
      plan.main = TRY(load_image(f, path, static_cast<uint64_t>(st.st_size), loader::ElfRole::Executable,
                                 kPieBase + random_pages(1 << 16)));
      break;
    }
    auto shebang = TRY(loader::parse_shebang(first));
    if (!shebang) return Errno::NOEXEC;
    if (depth >= kMaxShebangDepth) return Errno::LOOP;
    argv = loader::shebang_argv(*shebang, path, std::move(argv));
    path = shebang->interp;
  }
  if (plan.main.image.interp) {
    const std::string& ipath = *plan.main.image.interp;
    RefPtr<fs::File> f = TRY(fs::open_path(p, AT_FDCWD, ipath, O_RDONLY | O_CLOEXEC, 0));
    struct stat st = TRY(f->stat());
    if (!S_ISREG(st.st_mode)) return Errno::ACCES;
    // Parsed twice: once to learn its size, once at the address chosen for it.
    auto probe = TRY(load_image(f, ipath, static_cast<uint64_t>(st.st_size), loader::ElfRole::Interpreter, 0));
    if (!probe.image.is_dyn) return Errno::INVAL;
    plan.interp = std::move(probe);
  }
  plan.argv = std::move(argv);
  plan.envp = std::move(envp);
  return plan;
}

namespace {

// The host mappings every stub process keeps (vDSO, vvar) and the stub region.
void record_reserved(mm::AddressSpace& as) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    bool vdso = line.find("[vdso]") != std::string::npos;
    if (!vdso && line.find("[vvar") == std::string::npos) continue;
    unsigned long s = 0, e = 0;
    if (sscanf(line.c_str(), "%lx-%lx", &s, &e) != 2) continue;
    mm::Mapping m;
    m.start = s;
    m.end = e;
    m.prot = PROT_READ | (vdso ? PROT_EXEC : 0);
    m.flags = MAP_PRIVATE;
    m.name = line.substr(line.find('['));
    m.reserved = true;
    as.insert(std::move(m));
  }
  mm::Mapping stub;
  stub.start = MOAT_RESERVED_BASE;
  stub.end = MOAT_RESERVED_END;
  stub.flags = MAP_SHARED;
  stub.name = "[moat-stub]";
  stub.reserved = true;
  as.insert(std::move(stub));
}

Coro<ErrorOr<void>> map_image(Thread& t, const LoadedElf& elf) {
  Process& p = t.process();
  mm::AddressSpace& as = p.address_space();
  CO_TRY_ASSIGN(struct stat st, elf.file->stat());
  for (const loader::ElfSegment& seg : elf.image.segments) {
    bool zero_tail = seg.zero_from < seg.map_end_file;
    if (seg.map_end_file > seg.map_start) {
      int prot = seg.prot | (zero_tail ? PROT_WRITE : 0);
      CO_TRY(p.stub().send_fd(elf.file->mmap_fd()));
      int64_t r = co_await stub_mmap_fd(t, seg.map_start, seg.map_end_file - seg.map_start, prot,
                                        MAP_PRIVATE | MAP_FIXED, seg.file_offset);
      if (r < 0) co_return static_cast<Errno>(-r);
      if (zero_tail) {
        std::vector<char> zeros(seg.map_end_file - seg.zero_from, 0);
        CO_TRY(p.mem().write(seg.zero_from, zeros.data(), zeros.size()));
        if (!(seg.prot & PROT_WRITE)) {
          r = co_await stub_syscall(t, SYS_mprotect, seg.map_start, seg.map_end_file - seg.map_start,
                                    static_cast<uint64_t>(seg.prot));
          if (r < 0) co_return static_cast<Errno>(-r);
        }
      }
      mm::Mapping m;
      m.start = seg.map_start;
      m.end = seg.map_end_file;
      m.prot = seg.prot;
      m.flags = MAP_PRIVATE;
      m.offset = seg.file_offset;
      m.dev = st.st_dev;
      m.inode = st.st_ino;
      m.name = elf.path;
      as.insert(std::move(m));
    }
    if (seg.anon_end > seg.map_end_file) {
      int64_t r = co_await stub_syscall(t, SYS_mmap, seg.map_end_file, seg.anon_end - seg.map_end_file,
                                        static_cast<uint64_t>(seg.prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                                        static_cast<uint64_t>(-1), 0);
      if (r < 0) co_return static_cast<Errno>(-r);
      mm::Mapping m;
      m.start = seg.map_end_file;
      m.end = seg.anon_end;
      m.prot = seg.prot;
      m.flags = MAP_PRIVATE | MAP_ANONYMOUS;
      as.insert(std::move(m));
    }
  }
  co_return ErrorOr<void>{};
}

}  // namespace

Coro<ErrorOr<EntryPoint>> load_plan(Thread& t, ExecPlan& plan) {
  Process& p = t.process();
  mm::AddressSpace& as = p.address_space();
  if (!as.find(MOAT_RESERVED_BASE)) record_reserved(as);
  as.mmap_base = 0x7f0000000000ULL - random_pages(1 << 20);

  CO_TRY(co_await map_image(t, plan.main));
  uint64_t entry = plan.main.image.entry;
  uint64_t base = 0;
  if (plan.interp) {
    // The interpreter goes where mmap would put it, aligned as it asks.
    uint64_t align = std::max<uint64_t>(plan.interp->image.max_align, mm::kPageSize);
    CO_TRY_ASSIGN(uint64_t at, as.find_free(plan.interp->image.span + align));
    at = (at + align - 1) & ~(align - 1);
    CO_TRY_ASSIGN(struct stat ist, plan.interp->file->stat());
    uint64_t size = static_cast<uint64_t>(ist.st_size);
    CO_TRY_ASSIGN(LoadedElf interp,
                  load_image(plan.interp->file, plan.interp->path, size, loader::ElfRole::Interpreter, at));
    CO_TRY(co_await map_image(t, interp));
    entry = interp.image.entry;
    base = interp.image.bias;
  }
  as.brk_start = as.brk_current = mm::page_up(plan.main.image.max_end) + random_pages(1 << 13);

  // The stack: RLIMIT_STACK worth (8 MiB by default), below a fixed top.
  uint64_t stack_size = std::min<uint64_t>(p.rlimits[RLIMIT_STACK].rlim_cur, 64ULL << 20);
  stack_size = std::max<uint64_t>(mm::page_up(stack_size), 128 * 1024);
  uint64_t top = kStackTop - random_pages(1 << 16);
  if (as.overlaps(top - stack_size, top)) {
    CO_TRY_ASSIGN(uint64_t low, as.find_free(stack_size));
    top = low + stack_size;
  }
  int64_t r = co_await stub_syscall(t, SYS_mmap, top - stack_size, stack_size, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_STACK, static_cast<uint64_t>(-1), 0);
  if (r < 0) co_return static_cast<Errno>(-r);
  mm::Mapping sm;
  sm.start = top - stack_size;
  sm.end = top;
  sm.prot = PROT_READ | PROT_WRITE;
  sm.flags = MAP_PRIVATE | MAP_ANONYMOUS;
  sm.name = "[stack]";
  as.insert(std::move(sm));
  as.stack_top = top;

  const loader::ElfImage& img = plan.main.image;
  std::vector<std::pair<uint64_t, uint64_t>> auxv = {
      {AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR)},
      {AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ)},
      {AT_HWCAP, getauxval(AT_HWCAP)},
      {AT_PAGESZ, mm::kPageSize},
      {AT_CLKTCK, 100},
      {AT_PHDR, img.phdr},
      {AT_PHENT, img.phent},
      {AT_PHNUM, img.phnum},
      {AT_BASE, base},
      {AT_FLAGS, 0},
      {AT_ENTRY, img.entry},
      {AT_UID, p.creds.uid},
      {AT_EUID, p.creds.euid},
      {AT_GID, p.creds.gid},
      {AT_EGID, p.creds.egid},
      {AT_SECURE, 0},
      {AT_HWCAP2, getauxval(AT_HWCAP2)},
  };
  std::array<uint8_t, 16> random{};
  if (getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) co_return Errno::IO;
  CO_TRY_ASSIGN(loader::StackImage stack,
                loader::build_initial_stack(top, plan.argv, plan.envp, auxv, plan.execfn, random));
  if (stack.start < top - stack_size) co_return Errno::TooBig;
  CO_TRY(p.mem().write(stack.start, stack.bytes.data(), stack.bytes.size()));
  p.arg_start = stack.arg_start;
  p.arg_end = stack.arg_end;
  p.env_start = stack.env_start;
  p.env_end = stack.env_end;
  p.exe_path = plan.main.path;
  co_return EntryPoint{entry, stack.sp};
}

Coro<ErrorOr<int64_t>> start_guest(Thread& t, ExecPlan plan) {
  co_await StubReport{t};  // thread 0's HELLO: the stub is set up
  CO_TRY_ASSIGN(EntryPoint ep, co_await load_plan(t, plan));
  moat_slot* slot = t.process().stub().slot(t.slot_index());
  slot->op_args[0] = ep.rip;
  slot->op_args[1] = ep.rsp;
  post_reply(slot, MOAT_REPLY_RUN);
  co_return 0;
}

Coro<ErrorOr<void>> unmap_guest(Thread& t) {
  mm::AddressSpace& as = t.process().address_space();
  // Contiguous runs of guest mappings go in one host munmap each.
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const mm::Mapping& m : as.mappings()) {
    if (m.reserved) continue;
    if (!runs.empty() && runs.back().second == m.start)
      runs.back().second = m.end;
    else
      runs.emplace_back(m.start, m.end);
  }
  for (auto [start, end] : runs) {
    int64_t r = co_await stub_syscall(t, SYS_munmap, start, end - start);
    if (r < 0) co_return static_cast<Errno>(-r);
    as.remove(start, end);
  }
  co_return ErrorOr<void>{};
}

}  // namespace moat
