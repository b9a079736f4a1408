// memfd_create(2). The file and its seals are fs/memfd.h's.
#include <sys/mman.h>

#include "fs/fd_table.h"
#include "fs/memfd.h"
#include "sentry/syscalls/handlers.h"

namespace moat {

// Implements Linux memfd_create(2).
ErrorOr<int64_t> sys_memfd_create(SyscallContext& ctx) {
  auto flags = static_cast<unsigned>(ctx.arg(1));
  TRY(fs::check_memfd_flags(flags));
  // strnlen_user(MFD_NAME_MAX_LEN + 1): a longer name is EINVAL.
  auto name = ctx.mem().read_string(ctx.arg(0), fs::kMemfdNameMax + 1);
  if (name.is_error()) return name.error() == Errno::NAMETOOLONG ? Errno::INVAL : name.error();
  Process& p = ctx.process();
  auto file = TRY(fs::create_memfd(fs::Caller::of(p), name.value(), flags));
  return TRY(p.fds().allocate(std::move(file), flags & MFD_CLOEXEC, 0, fs::nofile_limit(p)));
}

}  // namespace moat
