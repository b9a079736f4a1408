// Memory syscalls. The sentry decides every address and records every
// mapping; the stub performs the host mapping in the guest's address space.

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <vector>

#include "fs/fd_table.h"
#include "fs/file.h"
#include "sentry/mm/address_space.h"
#include "sentry/platform/stub_ops.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

namespace {

constexpr int kKnownMapFlags = MAP_SHARED | MAP_PRIVATE | MAP_SHARED_VALIDATE | MAP_FIXED | MAP_ANONYMOUS |
                               MAP_32BIT | MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_LOCKED |
                               MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB |
                               MAP_SYNC | MAP_FIXED_NOREPLACE | (0x3f << MAP_HUGE_SHIFT);

// asm-generic/mman-common.h; glibc's <sys/mman.h> does not define it.
constexpr int kProtSem = 0x8;

bool in_user_range(uint64_t start, uint64_t len) {
  return start >= mm::kMinAddr && len <= mm::kUserTop && start <= mm::kUserTop - len;
}

// Host mmap of [addr, addr+len) at exactly that address.
Coro<ErrorOr<int64_t>> host_map(Thread& t, uint64_t addr, uint64_t len, int prot, int flags,
                                const RefPtr<fs::File>& file, uint64_t offset) {
  int host_flags = (flags & (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE |
                             MAP_GROWSDOWN | MAP_STACK | MAP_LOCKED)) |
                   MAP_FIXED;
  int64_t r;
  if (file) {
    auto sent = t.process().stub().send_fd(file->mmap_fd());
    if (sent.is_error()) co_return sent.error();
    r = co_await stub_mmap_fd(t, addr, len, prot, host_flags, offset);
  } else {
    r = co_await stub_syscall(t, SYS_mmap, addr, len, static_cast<uint64_t>(prot),
                              static_cast<uint64_t>(host_flags | MAP_ANONYMOUS), static_cast<uint64_t>(-1), 0);
  }
  if (r < 0) co_return static_cast<Errno>(-r);
  co_return r;
}

}  // namespace

// Implements Linux mmap(2).
Coro<ErrorOr<int64_t>> sys_mmap(SyscallContext& ctx) {
  co_await ctx.process().mm_lock.lock();
  AsyncMutex::Guard mm_guard{ctx.process().mm_lock};
  uint64_t addr = ctx.arg(0), len = ctx.arg(1), offset = ctx.arg(5);
  int prot = ctx.arg_int(2), flags = ctx.arg_int(3), fd = ctx.arg_int(4);
  Process& p = ctx.process();
  mm::AddressSpace& as = p.address_space();

  int type = flags & MAP_SHARED_VALIDATE;
  if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) co_return Errno::INVAL;
  if (type == MAP_SHARED_VALIDATE && (flags & ~kKnownMapFlags)) co_return Errno::NOTSUP;
  // Unlike mprotect(2), Linux's do_mmap() never validates prot: unknown bits
  // are dropped, not refused.
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  if (len == 0 || (offset & (mm::kPageSize - 1))) co_return Errno::INVAL;
  if (flags & MAP_HUGETLB) co_return Errno::INVAL;
  uint64_t size = mm::page_up(len);
  if (size < len || size > mm::kUserTop) co_return Errno::NOMEM;
  if (!(flags & MAP_ANONYMOUS) && offset + size < offset) co_return Errno::OVERFLOW_;

  RefPtr<fs::File> file;
  if (!(flags & MAP_ANONYMOUS)) {
    CO_TRY_ASSIGN(file, p.fds().get(fd));
    if (file->mmap_fd() < 0) co_return Errno::NODEV;
    int acc = file->flags() & O_ACCMODE;
    if (acc == O_WRONLY) co_return Errno::ACCES;
    if ((flags & MAP_SHARED) && (prot & PROT_WRITE) && acc != O_RDWR) co_return Errno::ACCES;
  }

  uint64_t start;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr & (mm::kPageSize - 1)) co_return Errno::INVAL;
    if (!in_user_range(addr, size)) co_return Errno::NOMEM;
    // The stub region stays the stub's: a guest MAP_FIXED over it fails.
    if (as.overlaps_reserved(addr, addr + size)) co_return Errno::NOMEM;
    if ((flags & MAP_FIXED_NOREPLACE) && as.overlaps(addr, addr + size)) co_return Errno::EXIST;
    start = addr;
  } else {
    uint64_t hint = mm::page_down(addr);
    if (hint && (!in_user_range(hint, size) || as.overlaps(hint, hint + size))) hint = 0;
    CO_TRY_ASSIGN(start, as.find_free(size, hint));
  }

  CO_TRY_ASSIGN(int64_t r, co_await host_map(ctx.thread, start, size, prot, flags, file, offset));
  mm::Mapping m;
  m.start = static_cast<uint64_t>(r);
  m.end = m.start + size;
  m.prot = prot;
  m.flags = flags;
  m.offset = file ? offset : 0;
  if (file) {
    if (auto st = file->stat(); !st.is_error()) {
      m.dev = st.value().st_dev;
      m.inode = st.value().st_ino;
    }
    m.name = file->path();
    m.may_write = !(flags & MAP_SHARED) || (file->flags() & O_ACCMODE) == O_RDWR;
  }
  as.insert(std::move(m));
  co_return r;
}

// Implements Linux munmap(2).
Coro<ErrorOr<int64_t>> sys_munmap(SyscallContext& ctx) {
  co_await ctx.process().mm_lock.lock();
  AsyncMutex::Guard mm_guard{ctx.process().mm_lock};
  uint64_t addr = ctx.arg(0), len = ctx.arg(1);
  mm::AddressSpace& as = ctx.process().address_space();
  if ((addr & (mm::kPageSize - 1)) || len == 0) co_return Errno::INVAL;
  uint64_t size = mm::page_up(len);
  if (!in_user_range(addr, size)) co_return Errno::INVAL;
  if (as.overlaps_reserved(addr, addr + size)) co_return Errno::INVAL;
  int64_t r = co_await stub_syscall(ctx.thread, SYS_munmap, addr, size);
  if (r < 0) co_return static_cast<Errno>(-r);
  as.remove(addr, addr + size);
  co_return 0;
}

// Implements Linux mprotect(2).
Coro<ErrorOr<int64_t>> sys_mprotect(SyscallContext& ctx) {
  co_await ctx.process().mm_lock.lock();
  AsyncMutex::Guard mm_guard{ctx.process().mm_lock};
  uint64_t addr = ctx.arg(0), len = ctx.arg(1);
  int prot = ctx.arg_int(2);
  mm::AddressSpace& as = ctx.process().address_space();
  if (addr & (mm::kPageSize - 1)) co_return Errno::INVAL;
  // Linux do_mprotect_pkey(): both growth directions at once, or a bit
  // arch_validate_prot() does not know (it allows PROT_SEM), is EINVAL.
  if ((prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP)) co_return Errno::INVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | kProtSem | PROT_GROWSDOWN | PROT_GROWSUP))
    co_return Errno::INVAL;
  if (len == 0) co_return 0;
  uint64_t size = mm::page_up(len);
  if (size < len || addr + size < addr) co_return Errno::NOMEM;
  if (as.overlaps_reserved(addr, addr + size)) co_return Errno::NOMEM;
  if (!as.fully_mapped(addr, addr + size)) co_return Errno::NOMEM;
  if (!as.may_protect(addr, addr + size, prot)) co_return Errno::ACCES;
  int64_t r = co_await stub_syscall(ctx.thread, SYS_mprotect, addr, size, static_cast<uint64_t>(prot));
  if (r < 0) co_return static_cast<Errno>(-r);
  CO_TRY(as.protect(addr, addr + size, prot & (PROT_READ | PROT_WRITE | PROT_EXEC)));
  co_return 0;
}

// Implements Linux brk(2): returns the new break, or the old one on failure.
Coro<ErrorOr<int64_t>> sys_brk(SyscallContext& ctx) {
  co_await ctx.process().mm_lock.lock();
  AsyncMutex::Guard mm_guard{ctx.process().mm_lock};
  uint64_t want = ctx.arg(0);
  mm::AddressSpace& as = ctx.process().address_space();
  uint64_t cur = as.brk_current;
  if (want < as.brk_start) co_return static_cast<int64_t>(cur);
  uint64_t old_top = mm::page_up(cur), new_top = mm::page_up(want);
  const auto limit = ctx.process().rlimits[RLIMIT_DATA].rlim_cur;
  if (limit != RLIM_INFINITY && want - as.brk_start > limit) co_return static_cast<int64_t>(cur);
  if (new_top > old_top) {
    if (!in_user_range(old_top, new_top - old_top) || as.overlaps(old_top, new_top))
      co_return static_cast<int64_t>(cur);
    int64_t r = co_await stub_syscall(ctx.thread, SYS_mmap, old_top, new_top - old_top, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, static_cast<uint64_t>(-1), 0);
    if (r < 0) co_return static_cast<int64_t>(cur);
    mm::Mapping m;
    m.start = old_top;
    m.end = new_top;
    m.prot = PROT_READ | PROT_WRITE;
    m.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    m.name = "[heap]";
    as.insert(std::move(m));
  } else if (new_top < old_top) {
    int64_t r = co_await stub_syscall(ctx.thread, SYS_munmap, new_top, old_top - new_top);
    if (r < 0) co_return static_cast<int64_t>(cur);
    as.remove(new_top, old_top);
  }
  as.brk_current = want;
  co_return static_cast<int64_t>(want);
}

// Implements Linux mremap(2), with the two moves that keep the source: an
// old_len of 0 duplicates a shared mapping, MREMAP_DONTUNMAP leaves the old
// range mapped (empty, for private anonymous memory).
Coro<ErrorOr<int64_t>> sys_mremap(SyscallContext& ctx) {
  co_await ctx.process().mm_lock.lock();
  AsyncMutex::Guard mm_guard{ctx.process().mm_lock};
  uint64_t old_addr = ctx.arg(0), old_len = ctx.arg(1), new_len = ctx.arg(2), new_addr = ctx.arg(4);
  int flags = ctx.arg_int(3);
  mm::AddressSpace& as = ctx.process().address_space();
  if (old_addr & (mm::kPageSize - 1)) co_return Errno::INVAL;
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) co_return Errno::INVAL;
  if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE)) co_return Errno::INVAL;
  uint64_t old_size = mm::page_up(old_len), new_size = mm::page_up(new_len);
  if (new_size == 0 || new_size < new_len || old_size < old_len) co_return Errno::INVAL;
  // mm/mremap.c: MREMAP_DONTUNMAP moves, it never resizes.
  if ((flags & MREMAP_DONTUNMAP) && old_size != new_size) co_return Errno::INVAL;
  const bool duplicate = old_size == 0;
  const bool keep_source = duplicate || (flags & MREMAP_DONTUNMAP);
  if (!in_user_range(old_addr, old_size) || as.overlaps_reserved(old_addr, old_addr + old_size))
    co_return Errno::FAULT;
  const mm::Mapping* src = as.find(old_addr);
  if (!src || src->reserved || !as.fully_mapped(old_addr, old_addr + old_size)) co_return Errno::FAULT;
  // Only shared memory can be duplicated (Linux warns and fails otherwise).
  if (duplicate && !(src->flags & MAP_SHARED)) co_return Errno::INVAL;
  mm::Mapping proto = *src;
  const uint64_t src_start = src->start;

  uint64_t target = old_addr;
  int host_flags = 0;
  if (flags & MREMAP_FIXED) {
    if ((new_addr & (mm::kPageSize - 1)) || !in_user_range(new_addr, new_size)) co_return Errno::INVAL;
    if (as.overlaps_reserved(new_addr, new_addr + new_size)) co_return Errno::INVAL;
    if (new_addr < old_addr + old_size && old_addr < new_addr + new_size) co_return Errno::INVAL;
    target = new_addr;
    host_flags = MREMAP_MAYMOVE | MREMAP_FIXED;
  } else if (keep_source) {
    if (!(flags & MREMAP_MAYMOVE)) co_return Errno::NOMEM;
    CO_TRY_ASSIGN(target, as.find_free(new_size));
    host_flags = MREMAP_MAYMOVE | MREMAP_FIXED;
  } else if (new_size > old_size &&
             (!in_user_range(old_addr, new_size) || as.overlaps(old_addr + old_size, old_addr + new_size))) {
    if (!(flags & MREMAP_MAYMOVE)) co_return Errno::NOMEM;
    CO_TRY_ASSIGN(target, as.find_free(new_size));
    host_flags = MREMAP_MAYMOVE | MREMAP_FIXED;
  }
  host_flags |= flags & MREMAP_DONTUNMAP;
  int64_t r = co_await stub_syscall(ctx.thread, SYS_mremap, old_addr, old_size, new_size,
                                    static_cast<uint64_t>(host_flags), target);
  if (r < 0) co_return static_cast<Errno>(-r);
  if (!keep_source) as.remove(old_addr, old_addr + old_size);
  if (target != old_addr) as.remove(target, target + new_size);
  proto.start = static_cast<uint64_t>(r);
  proto.end = proto.start + new_size;
  if (!(proto.flags & MAP_ANONYMOUS)) proto.offset += old_addr - src_start;
  as.insert(std::move(proto));
  co_return r;
}

// Implements Linux madvise(2).
Coro<ErrorOr<int64_t>> sys_madvise(SyscallContext& ctx) {
  co_await ctx.process().mm_lock.lock();
  AsyncMutex::Guard mm_guard{ctx.process().mm_lock};
  uint64_t addr = ctx.arg(0), len = ctx.arg(1);
  int advice = ctx.arg_int(2);
  mm::AddressSpace& as = ctx.process().address_space();
  if (addr & (mm::kPageSize - 1)) co_return Errno::INVAL;
  switch (advice) {
    case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED: case MADV_DONTNEED:
    case MADV_FREE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP:
    case MADV_COLD: case MADV_PAGEOUT: case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_DONTFORK:
    case MADV_DOFORK: case MADV_WIPEONFORK: case MADV_KEEPONFORK:
      break;
    default:
      co_return Errno::INVAL;
  }
  uint64_t size = mm::page_up(len);
  if (size < len) co_return Errno::INVAL;
  if (size == 0) co_return 0;
  if (as.overlaps_reserved(addr, addr + size)) co_return Errno::INVAL;
  if (!as.fully_mapped(addr, addr + size)) co_return Errno::NOMEM;
  int64_t r = co_await stub_syscall(ctx.thread, SYS_madvise, addr, size, static_cast<uint64_t>(advice));
  if (r < 0) co_return static_cast<Errno>(-r);
  co_return 0;
}

// FIXME: the four handlers below are written but not yet in the table
// (table.cpp and handlers.h belong to the dispatcher). None of them reaches
// the stub: its seccomp filter allows only the calls that change mappings.

// Implements Linux msync(2).
// FIXME: MS_SYNC does not force writeback to storage; the host page cache
// already holds what the guest wrote through a shared mapping, which is all
// MS_ASYNC promises since Linux 2.6.19.
ErrorOr<int64_t> sys_msync(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), len = ctx.arg(1);
  int flags = ctx.arg_int(2);
  mm::AddressSpace& as = ctx.process().address_space();
  if (addr & (mm::kPageSize - 1)) return Errno::INVAL;
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return Errno::INVAL;
  if ((flags & MS_ASYNC) && (flags & MS_SYNC)) return Errno::INVAL;
  uint64_t size = mm::page_up(len);
  if (size < len) return Errno::NOMEM;
  if (size == 0) return 0;
  // Linux msync(2) walks the range and reports ENOMEM for a hole.
  if (!in_user_range(addr, size) || as.overlaps_reserved(addr, addr + size) || !as.fully_mapped(addr, addr + size))
    return Errno::NOMEM;
  return 0;
}

// Implements Linux mincore(2) the way gVisor does: every mapped page is
// reported resident. Host residency is never asked for (it would be a side
// channel on the host's page cache).
ErrorOr<int64_t> sys_mincore(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), len = ctx.arg(1), vec = ctx.arg(2);
  mm::AddressSpace& as = ctx.process().address_space();
  if (addr & (mm::kPageSize - 1)) return Errno::INVAL;
  uint64_t size = mm::page_up(len);
  if (size < len || !in_user_range(addr, size)) return Errno::NOMEM;
  if (size == 0) return 0;
  if (as.overlaps_reserved(addr, addr + size) || !as.fully_mapped(addr, addr + size)) return Errno::NOMEM;
  std::vector<uint8_t> resident(size / mm::kPageSize, 1);
  TRY(ctx.mem().write(vec, resident.data(), resident.size()));
  return 0;
}

namespace {

// mlock(2) and munlock(2) check the range and lock nothing: guest memory is
// the stub's, and the stub may not call mlock (FIXME: RLIMIT_MEMLOCK and
// VmLck accounting).
ErrorOr<int64_t> check_lock_range(SyscallContext& ctx) {
  uint64_t addr = ctx.arg(0), len = ctx.arg(1);
  mm::AddressSpace& as = ctx.process().address_space();
  // Linux rounds the start down and the end up (mm/mlock.c).
  uint64_t start = mm::page_down(addr);
  uint64_t end = mm::page_up(addr + len);
  if (addr + len < addr || end < start) return Errno::INVAL;
  if (start == end) return 0;
  if (!in_user_range(start, end - start) || as.overlaps_reserved(start, end) || !as.fully_mapped(start, end))
    return Errno::NOMEM;
  return 0;
}

}  // namespace

// Implements Linux mlock(2).
ErrorOr<int64_t> sys_mlock(SyscallContext& ctx) { return check_lock_range(ctx); }

// Implements Linux munlock(2).
ErrorOr<int64_t> sys_munlock(SyscallContext& ctx) { return check_lock_range(ctx); }

}  // namespace moat
